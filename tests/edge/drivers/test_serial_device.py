"""The serial driver against simulated devices on real pseudo-terminals."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bohsense.contracts.events import Event, LaneChange
from bohsense.contracts.schema import Reading
from bohsense.edge.drivers import CommandReason, DriverError, build_driver
from bohsense.edge.drivers.serial_device import SerialDeviceDriver
from bohsense.firmware_bridge import Ack, Command, Nack, NackReason, Samples, encode_frame
from bohsense.firmware_bridge._cobs import encode as cobs_encode
from bohsense.simulators import ConditionDevice, Lane, ShelfDevice


class Sink:
    """An in-memory ``Sink`` (the seam the batcher implements in the agent)."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.events: list[Event] = []  # picks, put-backs, restocks
        self.states: list[Event] = []  # shelf.lane_state

    def put(self, reading: Reading) -> None:
        self.readings.append(reading)

    def put_event(self, event: Event) -> None:
        (self.states if event.kind == "shelf.lane_state" else self.events).append(event)

    def of(self, device: str, metric: str) -> list[Reading]:
        return [r for r in self.readings if r.device == device and r.metric == metric]


async def until(cond: Callable[[], Any], within_s: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + within_s
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within_s} s waiting for {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(driver: SerialDeviceDriver, sink: Sink) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(driver.run(sink), name=f"driver-{driver.name}")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert task.cancelled()


LANES = [Lane(355.0, 10, tare_g=150.0), Lane(500.0, 6, tare_g=160.0)]


def shelf(**kwargs: Any) -> ShelfDevice:
    return ShelfDevice(
        "shelf-9", lanes=[Lane(x.unit_weight_g, x.units, tare_g=x.tare_g) for x in LANES], **kwargs
    )


def shelf_driver(device: ShelfDevice | str, **options: Any) -> SerialDeviceDriver:
    port = device if isinstance(device, str) else device.port
    lanes = [{"unit_weight_g": x.unit_weight_g, "tare_g": x.tare_g} for x in LANES]
    return SerialDeviceDriver.from_options("shelf", {"port": port, "lanes": lanes, **options})


# -- configuration --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "'port' must be"),
        ({"port": "/dev/x", "speed": 9600}, "unknown serial option"),
        ({"port": "/dev/x", "baudrate": "fast"}, "'baudrate' must be"),
        ({"port": "/dev/x", "lanes": {"unit_weight_g": 1}}, "'lanes' must be an array"),
        ({"port": "/dev/x", "lanes": [{"unit_weight_g": -3}]}, r"lanes\[1\].unit_weight_g"),
        ({"port": "/dev/x", "lanes": [{"unit_weight_g": 3, "colour": "red"}]}, r"lanes\[1\] must be a table"),
        ({"port": "/dev/x", "stability_window_s": 0}, "'stability_window_s' must be a positive"),
        ({"port": "/dev/x", "max_residual": 0.9}, "'max_residual' must be at most 0.5"),
        ({"port": "/dev/x", "device_id": ""}, "'device_id' must be"),
        ({"port": "/dev/x", "lanes": [{"unit_weight_g": 3, "unit_spread": 0.5}]}, r"unit_spread must be"),
        ({"port": "/dev/x", "command_retries": 9}, "'command_retries' must be an integer 0..5"),
        ({"port": "/dev/x", "stuck_s": 0}, "'stuck_s' must be a positive"),
        ({"port": "/dev/x", "command_timeout_s": 30, "command_retries": 2}, "more than the 60 s"),
    ],
)
def test_bad_options_are_refused_with_a_reason(options: dict[str, Any], message: str) -> None:
    with pytest.raises(DriverError, match=message):
        build_driver("dev", "serial", options)


def test_registry_builds_the_serial_driver() -> None:
    driver = build_driver("s1", "serial", {"port": "loop://", "lanes": [{"unit_weight_g": 100}]})
    assert isinstance(driver, SerialDeviceDriver)
    assert driver.name == "s1"
    assert driver.stats() == {}


# -- end to end on a pty --------------------------------------------------------------


async def test_every_sample_becomes_a_reading_with_its_event_time() -> None:
    device = shelf(rate_hz=20)
    device.pause()  # no samples until the gateway is listening: then count them exactly
    with device:
        driver, sink = shelf_driver(device), Sink()
        async with running(driver, sink):
            await until(driver.connected.is_set, what="HELLO and time sync")
            device.resume()
            await asyncio.sleep(1.5)
            device.pause()
            await until(lambda: driver.stats().get("samples", 0) == device.samples_sent, what="all samples")
            stats = driver.stats()
    lane1 = sink.of("shelf-9.lane-1", "weight_g")
    lane2 = sink.of("shelf-9.lane-2", "weight_g")
    assert device.samples_sent >= 25
    assert len(lane1) == len(lane2) == device.samples_sent
    # one to one, in order, each at its sample instant (time sync within a few ms)
    for reading, (_, _, wall_ns) in zip(lane1, device.sample_log, strict=True):
        assert abs(reading.ts - wall_ns) < 5_000_000
    assert abs(sum(r.value for r in lane1) / len(lane1) - 10 * 355) < 5  # net of tare
    assert stats["frames_lost"] == 0
    assert stats.get("duplicates", 0) == 0
    assert stats["clock_steps"] == 1  # the device booted unsynced and was set once
    assert not any(k.startswith("errors_") for k in stats)
    units = {r.device: r.value for r in sink.readings if r.metric == "units"}
    assert units == {"shelf-9.lane-1": 10.0, "shelf-9.lane-2": 6.0}


async def test_a_pick_changes_units_only_after_settling() -> None:
    with shelf(rate_hz=20) as device:
        driver, sink = shelf_driver(device, stability_window_s=0.4), Sink()
        async with running(driver, sink):
            await until(lambda: sink.of("shelf-9.lane-1", "units"), what="first units")
            device.pick(1, 3)
            await until(
                lambda: [r for r in sink.of("shelf-9.lane-1", "units") if r.value == 7.0],
                what="units after pick",
            )
            device.pause()
    pick = next(e for e in device.ground_truth()["events"] if e["kind"] == "pick")
    units = sink.of("shelf-9.lane-1", "units")
    assert [r.value for r in units] == [10.0, 7.0], "no intermediate counts while the scale rings"
    # the goods leave 0.35 s after the grab starts; ringing lasts ~0.8 s; then a stable window
    assert units[-1].ts - pick["wall_ns"] > 0.35e9 + 0.5e9 + 0.4e9 - 0.2e9
    weights = [r for r in sink.of("shelf-9.lane-1", "weight_g") if pick["wall_ns"] < r.ts < units[-1].ts]
    assert max(r.value for r in weights) - min(r.value for r in weights) > 3 * 355 * 0.5
    assert {r.value for r in sink.of("shelf-9.lane-2", "units")} == {6.0}, "lane 2 untouched"
    (event,) = sink.events
    assert (event.device, event.kind, event.ts) == ("shelf-9", "shelf.pick", units[-1].ts)
    assert isinstance(event.attrs, LaneChange)
    assert (event.attrs.lane, event.attrs.units, event.attrs.units_after) == ("shelf-9.lane-1", 3, 7)
    assert abs(event.attrs.weight_delta_g + 3 * 355) < 15
    assert event.attrs.confidence > 0.8


async def test_a_resting_hand_is_never_counted_as_units() -> None:
    with shelf(rate_hz=20) as device:
        driver, sink = shelf_driver(device), Sink()
        async with running(driver, sink):
            await until(lambda: sink.of("shelf-9.lane-2", "units"), what="first units")
            device.rest_hand(2, duration_s=2.0, grams=900.0)
            await asyncio.sleep(2.6)
            device.pause()
    weights = [r.value for r in sink.of("shelf-9.lane-2", "weight_g")]
    assert max(weights) > 6 * 500 + 700, "the hand was on the lane"
    assert {r.value for r in sink.of("shelf-9.lane-2", "units")} == {6.0}
    assert sink.events == [], "no pick or putback from a hand"


async def test_corrupt_bytes_mid_stream_are_counted_and_good_frames_kept() -> None:
    device = shelf(rate_hz=20)
    device.pause()
    with device:
        driver, sink = shelf_driver(device), Sink()
        async with running(driver, sink):
            await until(driver.connected.is_set, what="connected")
            device.resume()
            await asyncio.sleep(0.3)
            bad_crc = bytearray(cobs_encode(bytes([1, 2, 0, 0, 0xAA, 0xBB])))  # CRC not matching
            bad_version = encode_frame(Samples(1, True, (1.0, 2.0)), 5, version=7)
            device.inject(b"\x00" + bytes(bad_crc) + b"\x00")
            await asyncio.sleep(0.15)
            device.inject(b"\x00" + b"\x55" * 700 + b"\x00")
            await asyncio.sleep(0.15)
            device.inject(bad_version)
            await asyncio.sleep(0.15)
            device.inject(b"\x00\x07\x01\x00")  # a COBS block longer than the frame
            await asyncio.sleep(0.5)
            device.pause()
            await until(lambda: driver.stats().get("samples", 0) == device.samples_sent, what="all samples")
            stats = driver.stats()
    assert stats["errors_crc"] == 1
    assert stats["errors_too-long"] == 1
    assert stats["errors_bad-version"] == 1
    assert stats["errors_cobs"] == 1
    assert stats["frames_lost"] == 0
    assert len(sink.of("shelf-9.lane-1", "weight_g")) == device.samples_sent


async def test_condition_sensor_readings_and_a_fault() -> None:
    with ConditionDevice("pump-3", rate_hz=20) as device:
        driver = SerialDeviceDriver.from_options("pump", {"port": device.port})
        sink = Sink()
        async with running(driver, sink):
            await until(lambda: len(sink.of("pump-3", "vib_rms_mm_s")) >= 10, what="healthy readings")
            healthy = sink.of("pump-3", "vib_rms_mm_s")[:10]
            device.inject_fault("bearing", ramp_s=0.3)
            await until(
                lambda: sink.of("pump-3", "vib_rms_mm_s")[-1].value > 7.1, what="alarm-zone vibration"
            )
            device.pause()
    assert all(r.value < 2.8 for r in healthy)
    assert sink.of("pump-3", "temp_c")
    metrics = {r.metric for r in sink.readings}
    assert {"temp_c", "vib_rms_mm_s"} <= metrics
    # beside the channels only the temperature window's statistics (a 15-min boundary
    # may fall within the run), never a sensor fault
    assert all(m.startswith("temp_c_") and "fault" not in m for m in metrics - {"temp_c", "vib_rms_mm_s"})
    assert {r.device for r in sink.readings} == {"pump-3"}


async def test_device_id_override_and_sensor_with_a_skewed_clock() -> None:
    with ConditionDevice("pump-4", rate_hz=20, clock_offset_s=-7.5) as device:
        driver = SerialDeviceDriver.from_options("pump", {"port": device.port, "device_id": "hvac-2"})
        sink = Sink()
        async with running(driver, sink):
            await until(lambda: len(sink.of("hvac-2", "temp_c")) >= 5, what="readings")
            device.pause()
            stats = driver.stats()
    assert stats["clock_skew_detected"] == 1
    assert stats["clock_steps"] == 1
    now = time.time_ns()
    assert all(abs(r.ts - now) < 3e9 for r in sink.readings), "7.5 s of skew corrected"


async def test_commands_round_trip() -> None:
    with shelf() as device:
        driver, sink = shelf_driver(device), Sink()
        async with running(driver, sink):
            await until(driver.connected.is_set, what="connected")
            assert isinstance(await driver.send_command(Command.identify()), Ack)
            refused = await driver.send_command(Command.tare(9))
            assert isinstance(refused, Nack)
            assert refused.reason is NackReason.BAD_ARGUMENT
    with pytest.raises(DriverError, match="not connected"):
        await driver.send_command(Command.identify())


async def test_commands_through_the_driver_interface() -> None:
    with shelf() as device:
        driver, sink = shelf_driver(device, command_timeout_s=2), Sink()
        assert set(driver.commands()) == {"tare", "calibrate", "set-rate", "identify", "snapshot"}
        assert set(driver.commands()["tare"].args) == {"lane", "force"}
        async with running(driver, sink):
            await until(lambda: sink.of("shelf-9.lane-1", "units"), what="a settled count")
            outcomes = {
                "identify": await driver.command("identify", {}),
                "set-rate": await driver.command("set-rate", {"hz": 10}),
                "calibrate lane 0": await driver.command("calibrate", {"lane": 0, "grams": 500}),
                "tare lane 9": await driver.command("tare", {"lane": 9}),
                "tare stocked": await driver.command("tare", {"lane": 1}),
                "hz as text": await driver.command("set-rate", {"hz": "fast"}),
                "lane 1.5": await driver.command("calibrate", {"lane": 1.5, "grams": 5}),
                "an unknown argument": await driver.command("identify", {"colour": "red"}),
                "an unknown command": await driver.command("self-destruct", {}),
                "out of range": await driver.command("set-rate", {"hz": 1e300}),
            }
    got = {what: (o.ok, o.reason) for what, o in outcomes.items()}
    assert got == {
        "identify": (True, None),
        "set-rate": (True, None),
        "calibrate lane 0": (False, CommandReason.DEVICE_REFUSED),
        "tare lane 9": (False, CommandReason.BAD_ARGUMENT),
        "tare stocked": (False, CommandReason.LANE_NOT_EMPTY),
        "hz as text": (False, CommandReason.BAD_ARGUMENT),
        "lane 1.5": (False, CommandReason.BAD_ARGUMENT),
        "an unknown argument": (False, CommandReason.BAD_ARGUMENT),
        "an unknown command": (False, CommandReason.UNKNOWN_COMMAND),
        "out of range": (False, CommandReason.BAD_ARGUMENT),
    }
    assert "bad_argument" in outcomes["calibrate lane 0"].detail, "the device's own reason"
    assert "10 units" in outcomes["tare stocked"].detail
    assert "colour" in outcomes["an unknown argument"].detail
    assert [e["kind"] for e in device.ground_truth()["events"] if e["kind"] == "tare"] == []
    unplugged = await driver.command("identify", {})
    assert (unplugged.ok, unplugged.reason) == (False, CommandReason.DEVICE_UNAVAILABLE)
    assert "not connected" in unplugged.detail


async def test_unplug_and_replug_behind_a_stable_name(tmp_path: Path) -> None:
    link = tmp_path / "ttyBOH-shelf"
    first = shelf().start(link=link)
    second = shelf(seed=2)
    driver, sink = shelf_driver(str(link), reconnect_max_s=0.5), Sink()
    try:
        async with running(driver, sink):
            await until(
                lambda: len(sink.of("shelf-9.lane-1", "weight_g")) >= 5, what="readings from the first"
            )
            first.stop()  # unplugged: the pty goes away
            await until(lambda: driver.stats().get("disconnects"), what="disconnect noticed")
            unplugged_at = time.time_ns()
            second.start(link=link)  # plugged back in: udev points the name at the new tty
            await until(
                lambda: [r for r in sink.of("shelf-9.lane-1", "weight_g") if r.ts > unplugged_at],
                what="readings after the replug",
            )
            stats = driver.stats()
    finally:
        first.stop()
        second.stop()
    assert stats["reconnects"] >= 1
    assert stats["hellos"] == 2
    assert not any(k.startswith("errors_") for k in stats)


async def test_missing_port_is_retried_not_fatal(tmp_path: Path) -> None:
    link = tmp_path / "ttyBOH-late"
    driver, sink = shelf_driver(str(link), reconnect_max_s=0.2), Sink()
    with shelf() as device:
        async with running(driver, sink):
            await until(lambda: driver.stats().get("open_failures", 0) >= 2, what="failed opens")
            device.relink(link)
            await until(lambda: sink.of("shelf-9.lane-1", "weight_g"), what="readings once the port exists")


async def test_a_drifting_device_clock_is_measured_again_and_corrected() -> None:
    device = ConditionDevice("pump-5", rate_hz=20, clock_drift_ppm=50_000)  # 50 ms per second
    device.pause()
    with device:
        driver = SerialDeviceDriver.from_options(
            "pump", {"port": device.port, "resync_s": 0.3, "max_clock_skew_ms": 5}
        )
        sink = Sink()
        async with running(driver, sink):
            await until(driver.connected.is_set, what="connected")
            device.resume()
            await until(lambda: driver.stats().get("clock_steps", 0) >= 3, what="repeated clock steps")
            device.pause()
            await until(lambda: driver.stats().get("samples", 0) == device.samples_sent, what="all samples")
    temps = sink.of("pump-5", "temp_c")
    assert len(temps) == device.samples_sent
    # between two measurements (0.3 s) the clock runs ~15 ms ahead; each sample is
    # placed with the offset measured before it, so the error stays within that bound
    errors = [abs(r.ts - wall) for r, (_, _, wall) in zip(temps, device.sample_log, strict=True)]
    assert max(errors) < 35_000_000  # uncorrected, it would reach 50 ms after one second


class _GarbageClockSensor(ConditionDevice):
    """A sensor whose clock reads near the start of int64: every TIME_SYNC answer is absurd
    (the step it asks for would not even fit the adjust field)."""

    def clock_us(self, mono: float | None = None) -> int:
        return -(2**63) + 1_000_000


async def test_a_device_with_a_garbage_clock_does_not_make_the_driver_reconnect() -> None:
    with _GarbageClockSensor("pump-9", rate_hz=20) as device:
        driver, sink = SerialDeviceDriver.from_options("pump", {"port": device.port}), Sink()
        async with running(driver, sink):
            await until(lambda: driver.stats().get("frames", 0) > 0, 10, "frames from the device")
            await asyncio.sleep(3)
            stats = driver.stats()
    assert stats.get("reconnects", 0) == 0, stats
    assert stats.get("clock_invalid", 0) >= 2, stats
    assert stats.get("disconnects", 0) == 0, stats
    assert stats.get("encode_errors", 0) == 0, stats
    assert sink.readings == [], "no reading is placed with a clock that cannot be trusted"


async def test_a_command_that_cannot_be_encoded_is_refused_and_the_port_stays_up() -> None:
    from bohsense.edge.drivers import CommandRefused
    from bohsense.firmware_bridge import CommandOp

    with shelf() as device:
        driver, sink = shelf_driver(device), Sink()
        async with running(driver, sink):
            await until(driver.connected.is_set, what="connected")
            with pytest.raises(CommandRefused, match="out of range") as refused:
                await driver.send_command(Command(CommandOp.SET_RATE, 0, 1e300))
            assert refused.value.reason == "bad-argument"
            assert isinstance(await driver.send_command(Command.identify()), Ack), "the link still works"
            stats = driver.stats()
    assert stats["encode_errors"] == 1
    assert stats.get("disconnects", 0) == 0


async def test_backoff_grows_for_a_device_that_answers_and_then_fails_at_once() -> None:
    with ConditionDevice("pump-4", rate_hz=20) as device:
        device.pause()  # answers HELLO and TIME_SYNC, then nothing but a heartbeat each second
        driver = SerialDeviceDriver.from_options("pump", {"port": device.port, "silence_timeout_s": 0.2})
        sink = Sink()
        async with running(driver, sink):
            await until(lambda: driver.stats().get("reconnects", 0) >= 4, 15, "four reconnects")
            stats = driver.stats()
    assert stats["frames"] >= 4, "every connection got frames"
    assert stats["backoff_attempt"] >= stats["reconnects"] >= 4, "the backoff never started over"


async def test_lane_offsets_that_cannot_be_written_still_apply_and_the_port_stays_up(tmp_path: Path) -> None:
    (tmp_path / "lanes-shelf.json.tmp").mkdir()  # the atomic write's temporary file cannot be made
    with shelf() as device:
        lanes = [{"unit_weight_g": x.unit_weight_g, "tare_g": x.tare_g} for x in LANES]
        driver = SerialDeviceDriver.from_options(
            "shelf", {"port": device.port, "lanes": lanes}, state_dir=tmp_path
        )
        sink = Sink()
        async with running(driver, sink):
            await until(lambda: sink.of("shelf-9.lane-1", "units"), what="a settled count")
            outcome = await driver.command("tare", {"lane": 1, "force": True})
            assert outcome.ok, outcome
            mark = len(sink.readings)
            await until(
                lambda: len(sink.of("shelf-9.lane-1", "weight_g")) > 10, what="readings after the tare"
            )
            await asyncio.sleep(0.5)
            stats = driver.stats()
    assert stats["state_save_failures"] == 1
    assert stats.get("disconnects", 0) == 0
    after = [r.value for r in sink.readings[mark:] if r.device == "shelf-9.lane-1" and r.metric == "weight_g"]
    assert after, "readings after the tare"
    assert all(abs(w - 10 * 355) < 30 for w in after), "the re-baseline applies in memory"
    assert not (tmp_path / "lanes-shelf.json").exists()
