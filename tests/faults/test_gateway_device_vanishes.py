"""A serial device vanishing and returning: the shelf's USB cable is pulled for 3 s (the
pty is closed and its symlink removed, as udev does) and plugged back (a new pty behind
the same symlink, the device reboots). The gateway reconnects by itself, the outage is
reported as the shelf's status (its lanes untrusted in ``/stock/sensed`` while it is
away; the driver's ``disconnects`` / ``reconnects``), and every reading the device sent
before and after is stored once, but for what it sent between its replug and the
gateway's next attempt to open the port (the reconnect backoff): opening a serial port
discards what the line held, as it does for a real USB-serial adapter; and the sample
still in the device's transmit buffer when it lost power. Those are counted
apart (``lost_before_reopen``); anything else lost must be 0. (While unplugged the
device is unpowered and sends nothing.)"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from tests.faults._report import lost_samples, report, score, settle
from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import StoreSystem, wait_for

UNPLUG_S = 3.0
#: a sample still in the device's transmit buffer at power-off is gone with it
TX_BUFFER_NS = 150_000_000


@pytest.mark.long  # the default run keeps to its time budget; figures in docs/reliability.md
async def test_serial_device_unplugged_and_replugged(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    s = StoreSystem(tmp_path, mosquitto.url, influxdb, f"sqlite:///{tmp_path / 'boh.sqlite3'}")
    await s.start()
    untrusted: list[dict[str, object]] = []
    try:
        s.play()
        await wait_for(lambda: sum(s.stored().values()) > 0, limit_s=20, what="readings before the unplug")
        await asyncio.sleep(2)
        hellos = int(s.shelf.ground_truth()["rx_frames"].get("HelloRequest", 0))
        s.shelf.usb_unplug(UNPLUG_S)
        unplugged = time.monotonic()
        shelf_series = [k for k in s.expected() if k[0].startswith("shelf-1")]

        async def seen_untrusted() -> bool:
            rows = await s.get("/stock/sensed")
            bad = [r for r in rows if not r["trusted"]]
            untrusted.extend(bad)
            return bool(bad)

        await wait_for(
            seen_untrusted, limit_s=UNPLUG_S + 10, what="the shelf reported untrusted", every_s=0.25
        )
        await wait_for(
            lambda: int(s.shelf.ground_truth()["rx_frames"].get("HelloRequest", 0)) > hellos,
            limit_s=30,
            what="the gateway to reopen the replugged shelf",
            every_s=0.02,
        )
        reopened_ns = time.time_ns()
        at_replug = sum(s.stored().get(k, 0) for k in shelf_series)
        await wait_for(
            lambda: sum(s.stored().get(k, 0) for k in shelf_series) > at_replug + len(shelf_series),
            limit_s=30,
            what="shelf readings after the replug",
            every_s=0.1,
        )
        recover_s = time.monotonic() - unplugged - UNPLUG_S
        await asyncio.sleep(2)
        s.pause()
        await asyncio.sleep(1)
        await settle(s)
        produced, stored, lost, twice = score(s)
        replug_ns = next(e["wall_ns"] for e in s.shelf.ground_truth()["events"] if e["kind"] == "replug")
        off_ns = next(e["wall_ns"] for e in s.shelf.ground_truth()["events"] if e["kind"] == "power-off")
        # what the device still held in its transmit buffer when it lost power (one sample)
        # and what it sent between the replug and the port's reopening
        windows = [(int(off_ns) - TX_BUFFER_NS, int(off_ns)), (int(replug_ns) - TX_BUFFER_NS, reopened_ns)]
        outside_at: list[int] = []
        closed, elsewhere = lost_samples(s, windows, outside_at)
        rc = s.stop_edge()
    finally:
        await s.close()
    lines = [json.loads(x) for x in (tmp_path / "edge.log").read_text().splitlines() if x.startswith("{")]
    final = next(x for x in reversed(lines) if x.get("msg") == "edge agent stopped")
    report(
        "serial device unplugged 3 s and replugged",
        produced=produced,
        stored=stored,
        lost=lost,
        applied_twice=twice,
        recover_s=recover_s,
        disconnects=final.get("driver.shelf-1.disconnects"),
        reconnects=final.get("driver.shelf-1.reconnects"),
        lost_before_reopen=closed,
        lost_elsewhere=elsewhere,
        lost_elsewhere_at_s=[round((t - int(off_ns)) / 1e9, 2) for t in outside_at],
        reopen_after_replug_s=round((reopened_ns - int(replug_ns)) / 1e9, 2),
        untrusted_reason=str(untrusted[0].get("reason")) if untrusted else None,
        exit_code=rc,
    )
    assert untrusted, "the outage shows as the shelf's status"
    assert int(final.get("driver.shelf-1.disconnects", 0)) >= 1
    assert elsewhere == 0, f"{elsewhere} readings lost outside the replug-to-reopen window"
    assert closed + elsewhere >= lost, "every lost reading is accounted for by a device sample"
    assert twice == 0


class RfidStore(StoreSystem):
    """The demo store with its simulated RFID readers (LLRP over TCP) on the gateway too."""

    rfid_server: object = None

    def start_edge(self) -> None:
        from bohsense.demo import SENSOR, SHELF, gateway_toml
        from bohsense.demo._runner import _start_rfid

        if self.rfid_server is None:
            self.rfid_server, self.rfid = _start_rfid(self.workdir)
        (self.workdir / "gateway.toml").write_text(
            gateway_toml(
                self.store,
                broker_url=self.broker_url,
                outbox=self.workdir / "outbox.sqlite3",
                shelf_port=self.workdir / "dev" / SHELF,
                sensor_port=self.workdir / "dev" / SENSOR,
                rfid=self.rfid,
            )
        )
        super().start_edge()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self.rfid_server is not None:
                self.rfid_server.stop()  # type: ignore[attr-defined]


@pytest.mark.long
async def test_llrp_reader_drops_its_connection_and_returns(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    s = RfidStore(tmp_path, mosquitto.url, influxdb, f"sqlite:///{tmp_path / 'boh.sqlite3'}")
    await s.start()
    try:
        server = s.rfid_server
        readers = server.readers  # type: ignore[attr-defined]
        reader_id, reader = next(iter(readers.items()))
        await wait_for(lambda: reader.connected, limit_s=30, what="the gateway connected to the reader")
        s.play()
        await wait_for(lambda: sum(s.stored().values()) > 0, limit_s=20, what="readings before the drop")
        await asyncio.sleep(2)
        events_before = int(s.service.stats().get("events_applied", 0))
        server.call(reader.drop_network)  # type: ignore[attr-defined]
        dropped = time.monotonic()
        await wait_for(lambda: not reader.connected, limit_s=10, what="the reader's connection dropped")
        await wait_for(
            lambda: reader.connected, limit_s=30, what="the gateway reconnected to the reader", every_s=0.05
        )
        recover_s = time.monotonic() - dropped
        await asyncio.sleep(4)
        s.pause()
        await asyncio.sleep(1)
        await settle(s)
        produced, stored, lost, twice = score(s)
        events_after = int(s.service.stats().get("events_applied", 0))
        rc = s.stop_edge()
    finally:
        await s.close()
    lines = [json.loads(x) for x in (tmp_path / "edge.log").read_text().splitlines() if x.startswith("{")]
    final = next(x for x in reversed(lines) if x.get("msg") == "edge agent stopped")
    kinds = [e["kind"] for e in reader.events if e["kind"] in ("connected", "disconnected", "network-drop")]
    report(
        "LLRP reader drops its TCP connection and returns",
        produced=produced,
        stored=stored,
        lost=lost,
        applied_twice=twice,
        recover_s=recover_s,
        reader=reader_id,
        reader_connects=kinds.count("connected"),
        driver_reconnects=final.get(f"driver.{reader_id}.reconnects"),
        events_applied_before=events_before,
        events_applied_after=events_after,
        exit_code=rc,
    )
    assert kinds.count("connected") >= 2, "the gateway connected again by itself"
    assert lost == 0, f"{lost} of {produced} serial readings lost beside the reader's outage"
    assert twice == 0
