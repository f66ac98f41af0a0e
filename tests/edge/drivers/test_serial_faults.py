"""Device faults end to end: a simulated shelf on a real pseudo-terminal, the serial driver.

The lane is flagged (``shelf.lane_state`` ``fault``), no wrong count is published while
it is, and the change made meanwhile is reported once it is back; a command that is not
answered or answered ``busy`` is sent again and the outcome says so.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bohsense.contracts.events import LaneChange, LaneState
from bohsense.edge.drivers import CommandReason
from bohsense.edge.drivers.serial_device import SerialDeviceDriver
from bohsense.firmware_bridge import Command, Nack, NackReason
from bohsense.simulators import Lane, ShelfDevice

from .test_serial_device import Sink, running, until


def shelf(**kwargs: Any) -> ShelfDevice:
    return ShelfDevice(
        "shelf-9", lanes=[Lane(355.0, 10, tare_g=150.0), Lane(500.0, 6, tare_g=160.0)], **kwargs
    )


def driver_for(port: str, **options: Any) -> SerialDeviceDriver:
    lanes = [{"unit_weight_g": 355.0, "tare_g": 150.0}, {"unit_weight_g": 500.0, "tare_g": 160.0}]
    return SerialDeviceDriver.from_options("shelf", {"port": port, "lanes": lanes, **options})


def states(sink: Sink, lane: str) -> list[tuple[str, str, int]]:
    return [
        (e.attrs.state, e.attrs.reason, e.ts)
        for e in sink.states
        if isinstance(e.attrs, LaneState) and e.attrs.lane == lane
    ]


def true_units(device: ShelfDevice, lane: int, ts: int, initial: int) -> int:
    """The lane's true units at UTC ``ts`` (a change counts from the end of its grab)."""
    units = initial
    for e in device.ground_truth()["events"]:
        if e.get("lane") == lane and "units_after" in e and e["wall_ns"] + 0.35e9 <= ts:
            units = e["units_after"]
    return units


def wrong_counts(sink: Sink, device: ShelfDevice) -> list[tuple[str, float, int]]:
    out = []
    for n, initial in ((1, 10), (2, 6)):
        for r in sink.of(f"shelf-9.lane-{n}", "units"):
            truth = true_units(device, n, r.ts, initial)
            if r.value != truth:
                out.append((r.device, r.value, truth))
    return out


async def test_usb_unplug_flags_every_lane_and_the_pick_made_meanwhile_is_reported(tmp_path: Path) -> None:
    link = tmp_path / "ttyBOH-shelf"
    device = shelf(rate_hz=20).start(link=link)
    driver, sink = driver_for(str(link), reconnect_max_s=0.3), Sink()
    try:
        async with running(driver, sink):
            await until(lambda: sink.of("shelf-9.lane-1", "units"), what="a first count")
            unplugged_at = time.time_ns()
            device.usb_unplug(2.0)
            device.pick(1, 2, at=device.elapsed() + 0.5)  # while the cable is out
            await until(
                lambda: [s for s in states(sink, "shelf-9.lane-1") if s[0] == "fault"], what="lane 1 flagged"
            )
            await until(
                lambda: [e for e in sink.events if e.kind == "shelf.pick"],
                within_s=15,
                what="the pick reported",
            )
            await until(lambda: states(sink, "shelf-9.lane-2")[-1][0] == "stable", what="lane 2 back")
            stats = driver.stats()
    finally:
        device.stop()
    for lane in ("shelf-9.lane-1", "shelf-9.lane-2"):
        fault = next(s for s in states(sink, lane) if s[0] == "fault")
        assert fault[1] == "detached"
        assert fault[2] - unplugged_at < 1.5e9, "flagged within 1.5 s of the unplug"
    (pick,) = [e for e in sink.events if e.kind == "shelf.pick"]
    assert isinstance(pick.attrs, LaneChange)
    assert (pick.attrs.lane, pick.attrs.units, pick.attrs.units_after) == ("shelf-9.lane-1", 2, 8)
    assert wrong_counts(sink, device) == []
    kinds = [e["kind"] for e in device.ground_truth()["events"]]
    assert kinds.count("unplug") == 1
    assert kinds.count("replug") == 1
    assert "reboot" in kinds
    assert stats["disconnects"] >= 1
    assert stats["hellos"] >= 2


async def test_a_stuck_cell_is_flagged_its_counts_stop_and_a_pick_meanwhile_is_not_lost() -> None:
    with shelf(rate_hz=20) as device:
        driver, sink = driver_for(device.port, stuck_s=1.5), Sink()
        async with running(driver, sink):
            await until(lambda: sink.of("shelf-9.lane-1", "units"), what="a first count")
            stuck_at = time.time_ns()
            device.cell_fault(1, "stuck", 4.0)
            await until(
                lambda: [s for s in states(sink, "shelf-9.lane-1") if s[1] == "stuck"], what="lane 1 flagged"
            )
            device.pick(1, 1)  # the cell shows nothing of it while stuck
            await until(
                lambda: [e for e in sink.events if e.kind == "shelf.pick"],
                within_s=15,
                what="the pick reported",
            )
    (flag,) = [s for s in states(sink, "shelf-9.lane-1") if s[1] == "stuck"]
    assert flag[2] - stuck_at < 2.5e9, "flagged within stuck_s and a sample or two"
    units_while_stuck = [r for r in sink.of("shelf-9.lane-1", "units") if r.ts > flag[2]]
    assert [r.value for r in units_while_stuck] == [9.0], "only the count after it recovered"
    (pick,) = [e for e in sink.events if e.kind == "shelf.pick"]
    assert (pick.attrs.units, pick.attrs.units_after) == (1, 9)  # type: ignore[attr-defined]
    # (the last state of each lane is the driver's own stop: detached)
    assert [s[:2] for s in states(sink, "shelf-9.lane-1")] == [
        ("stable", ""),
        ("fault", "stuck"),
        ("stable", ""),
        ("fault", "detached"),
    ]
    assert [s[:2] for s in states(sink, "shelf-9.lane-2")] == [("stable", ""), ("fault", "detached")]
    assert wrong_counts(sink, device) == []


class MoodyShelf(ShelfDevice):
    """A shelf that is busy for its first ``busy`` commands and ignores the next ``deaf``."""

    def __init__(self, busy: int = 0, deaf: int = 0, **kwargs: Any) -> None:
        super().__init__(
            "shelf-9", lanes=[Lane(355.0, 10, tare_g=150.0), Lane(500.0, 6, tare_g=160.0)], **kwargs
        )
        self.busy, self.deaf = busy, deaf
        self.commands_seen = 0

    def on_command(self, command: Command) -> Nack | None:
        self.commands_seen += 1
        if self.busy:
            self.busy -= 1
            return Nack(0, NackReason.BUSY, "weighing")
        return super().on_command(command)

    def receive(self, data: bytes) -> None:
        if self.deaf and b"\x05" in data and self.synced:  # a COMMAND (type 5) lost on the way
            self.deaf -= 1
            self.commands_seen += 1
            return
        super().receive(data)


async def test_a_busy_or_unanswered_command_is_sent_again_and_reported() -> None:
    with MoodyShelf(busy=1) as device:
        driver, sink = driver_for(device.port, command_timeout_s=0.5), Sink()
        async with running(driver, sink):
            await until(driver.connected.is_set, what="connected")
            outcome = await driver.command("identify", {})
            assert (outcome.ok, outcome.detail) == (True, "after 2 attempts")
            assert driver.stats()["command_retries"] == 1
            device.busy = 5  # busy beyond the retries: refused, and said so
            refused = await driver.command("identify", {})
            assert (refused.ok, refused.reason) == (False, CommandReason.DEVICE_REFUSED)
            assert "busy" in refused.detail
            assert "after 3 attempts" in refused.detail
            device.busy = 0
            device.deaf = 1
            late = await driver.command("identify", {})
            assert late.ok
            assert late.detail == "after 2 attempts"
            device.deaf = 10
            lost = await driver.command("set-rate", {"hz": 20.0})
            assert (lost.ok, lost.reason) == (False, CommandReason.DEVICE_UNAVAILABLE)
            assert "after 3 attempt(s)" in lost.detail
            stats = driver.stats()
    assert stats["command_failures"] == 1
    assert stats["command_refusals"] == 1
    assert stats["command_retries"] == 1 + 2 + 1 + 2


async def test_a_dead_cell_and_a_reboot_over_a_pty() -> None:
    with shelf(rate_hz=20) as device:
        driver, sink = driver_for(device.port), Sink()
        async with running(driver, sink):
            await until(lambda: len(states(sink, "shelf-9.lane-2")) == 1, what="a first state")
            dead_at = time.time_ns()
            device.cell_fault(2, "dead", 1.5)
            device.restock(2, 6, at=device.elapsed() + 0.5)  # while the cell is dead
            await until(lambda: [s for s in states(sink, "shelf-9.lane-2") if s[1] == "dead"], what="dead")
            await until(lambda: [e for e in sink.events if e.kind == "shelf.restock"], what="the restock")
            device.reboot(1.0)
            await until(
                lambda: [s for s in states(sink, "shelf-9.lane-1") if s[1] == "rebooted"], what="the reboot"
            )
            await until(lambda: states(sink, "shelf-9.lane-1")[-1][0] == "stable", what="stable again")
            stats = driver.stats()
    (dead,) = [s for s in states(sink, "shelf-9.lane-2") if s[1] == "dead"]
    assert dead[2] - dead_at < 1.0e9, "flagged within a second of the cell dying"
    (restock,) = [e for e in sink.events if e.kind == "shelf.restock"]
    assert (restock.attrs.units, restock.attrs.units_after) == (6, 12)  # type: ignore[attr-defined]
    assert wrong_counts(sink, device) == []
    assert stats["hellos"] >= 2, "the reboot's HELLO"
    assert stats["bad_values"] > 0, "the dead cell's NaNs, counted"
