"""End to end over a real pseudo-terminal: the simulated waveform sensor sends blocks as
WAVEFORM fragments, the gateway's serial driver and session reassemble them into
``WaveformBlock`` observations equal to what was sent, and a fragment lost on the wire
makes exactly that block lost."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from bohsense.contracts.events import Event
from bohsense.contracts.schema import Reading
from bohsense.edge.drivers.serial_device import SerialDeviceDriver
from bohsense.edge.interpreters import (
    Interpretation,
    InterpreterRouter,
    Observation,
    PassThroughInterpreter,
    WaveformBlock,
)
from bohsense.simulators import ConditionScenario, WaveformSensorDevice


class Recorder:
    """The condition sensors' interpreter for the test: keeps the blocks, passes the rest on."""

    def __init__(self) -> None:
        self.blocks: list[WaveformBlock] = []
        self.inner = PassThroughInterpreter()

    def observe(self, observation: Observation) -> Interpretation:
        if isinstance(observation, WaveformBlock):
            self.blocks.append(observation)
        return self.inner.observe(observation)

    def counters(self) -> Mapping[str, int]:
        return {}


class Sink:
    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.events: list[Event] = []

    def put(self, reading: Reading) -> None:
        self.readings.append(reading)

    def put_event(self, event: Event) -> None:
        self.events.append(event)


async def until(cond: object, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within_s} s waiting for {what}")
        await asyncio.sleep(0.05)


def small_scenario() -> ConditionScenario:
    scenario = ConditionScenario.load("condition-motor-outer-race")
    scenario.sensor = replace(scenario.sensor, block_samples=2048)  # 9 fragments a block: a quick test
    return scenario


async def test_blocks_over_a_pty_arrive_as_sent_and_a_lost_fragment_flags_its_block() -> None:
    scenario = small_scenario()
    device = WaveformSensorDevice(scenario, time_scale=7200.0, start_s=20 * 86_400.0)  # 2 sets a second
    device.lose_fragment("y", 1, 3)
    device.pause()  # nothing is produced until the gateway listens
    with device:
        driver = SerialDeviceDriver.from_options("motor", {"port": device.port})
        recorder = Recorder()
        driver.interpreters = InterpreterRouter(
            {"shelf": driver.lanes, "condition": recorder}, default=PassThroughInterpreter()
        )
        sink = Sink()
        task = asyncio.create_task(driver.run(sink))
        try:
            await asyncio.wait_for(driver.connected.wait(), 10)
            device.resume()
            await until(lambda: sum(b.axis == "z" for b in recorder.blocks) >= 4, 20, "four sets of blocks")
            device.pause()
            stats = driver.stats()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    sent = {(b.axis, b.block_seq): b for b in device.sent_blocks}
    got = {(b.axis, b.block_seq): b for b in recorder.blocks}
    assert len(got) == len(recorder.blocks), "every block is reported once"
    assert {k[0] for k in got} == {"x", "y", "z"}
    assert set(got) <= set(sent)
    for key, block in got.items():
        original = sent[key]
        expected = np.array(original.counts, dtype=np.float64) * original.scale_g
        assert block.device == "motor-1"
        assert block.fs_hz == 25600.0
        assert block.samples.shape == (2048,)
        assert abs(block.ts - original.wall_ns) < 20_000_000, "placed at the block's first sample"
        if key == ("y", 1):
            assert block.lost
            missing = np.isnan(block.samples)
            assert missing.sum() == 239
            assert np.flatnonzero(missing).tolist() == list(range(3 * 239, 4 * 239))
            np.testing.assert_array_equal(block.samples[~missing], expected[~missing])
        else:
            assert not block.lost, key
            np.testing.assert_array_equal(block.samples, expected)
            assert block.clipped == int(np.sum(np.abs(np.array(original.counts)) >= 32767))
    assert ("y", 1) in got
    assert stats["waveform_blocks_lost"] == 1
    assert stats["waveform_missing_fragment"] == 1
    assert stats["frames_lost"] == 1
    assert stats["waveform_blocks"] == len(got) - 1
    assert stats.get("waveform_blocks_not_interpreted", 0) == 0  # the recorder took them
    temps = [r for r in sink.readings if r.metric == "temp_c"]
    assert temps
    assert all(30.0 < r.value < 80.0 for r in temps)
    assert {r.metric for r in sink.readings} <= {"temp_c", "status_flags", "uptime_s", "supply_v"}


async def test_the_driver_default_interpreters_take_a_waveform_sensor_without_failing() -> None:
    scenario = ConditionScenario.load("condition-motor-outer-race")  # 8192-sample blocks: long
    # enough for the features (a 2048-sample block is refused as too short for 10 Hz)
    device = WaveformSensorDevice(scenario, time_scale=7200.0)
    with device:
        driver = SerialDeviceDriver.from_options("motor", {"port": device.port})
        sink = Sink()
        task = asyncio.create_task(driver.run(sink))
        try:
            await until(
                lambda: (
                    driver.stats().get("waveform_blocks", 0) >= 6
                    and any(r.metric == "supply_v" for r in sink.readings)
                ),  # STATUS comes every 5 s
                30,
                "blocks and a status",
            )
            stats = driver.stats()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    # the condition interpreter makes features of every whole block
    assert stats.get("waveform_blocks_not_interpreted", 0) == 0
    assert stats.get("disconnects", 0) == 0
    assert any(r.metric == "supply_v" and r.value == 3.3 for r in sink.readings)
    velocity = [
        r for r in sink.readings if r.metric.startswith("vib_") and r.metric.endswith("velocity_rms_mm_s")
    ]
    assert velocity, sorted({r.metric for r in sink.readings})
    assert {r.metric.split("_")[1] for r in velocity} <= {"x", "y", "z"}
    # a sensor fault (a block cut by attaching mid-stream) is a warning, never an equipment alarm
    assert all(e.attrs.code.startswith("sensor.") for e in sink.events if e.kind == "device.alarm")


async def test_a_gateway_attaching_to_a_backlog_is_answered_and_gets_whole_blocks() -> None:
    scenario = small_scenario()
    device = WaveformSensorDevice(scenario, time_scale=14400.0)  # 4 sets a second, nobody reading
    with device:
        await asyncio.sleep(3.0)
        assert device.blocks_dropped > 0, "the block buffer filled up and dropped whole blocks"
        driver = SerialDeviceDriver.from_options("motor", {"port": device.port})
        sink = Sink()
        task = asyncio.create_task(driver.run(sink))
        try:
            await asyncio.wait_for(driver.connected.wait(), 10)
            await until(
                lambda: (
                    driver.stats().get("waveform_blocks_missed", 0) > 0
                    and driver.stats().get("waveform_blocks", 0) >= 15
                ),
                20,
                "the backlog, then fresh blocks",
            )
            stats = driver.stats()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert device.rx_frames["HelloRequest"] >= 1
    assert stats["hellos"] >= 1, "the HELLO found room in the buffer full of blocks"
    assert stats["waveform_blocks_missed"] == device.blocks_dropped, (
        "blocks dropped whole: a gap in block seq"
    )
    assert stats.get("waveform_blocks_lost", 0) <= 3, "at most the blocks cut by attaching mid-stream"
    assert stats.get("disconnects", 0) == 0


def _frames_of(scenario: ConditionScenario, start_day: float, seconds: float) -> list[object]:
    """The messages a waveform sensor sends in ``seconds`` (sans-I/O: a fake clock, no pty)."""
    from bohsense.firmware_bridge import Frame, FrameDecoder
    from tests.simulators.llrp_support import FakeClock

    clock = FakeClock()
    device = WaveformSensorDevice(scenario, start_s=start_day * 86_400.0, clock=clock)
    device.boot()
    decoder = FrameDecoder()
    messages: list[object] = []
    for _ in range(int(seconds / 0.05)):
        clock.mono += 0.05
        device.advance()
        data = device.data_to_send()
        device.bytes_sent(len(data))
        messages += [r.message for r in decoder.feed(data) if isinstance(r, Frame)]
    assert decoder.errors == {}
    return messages


def test_the_status_tells_what_the_device_itself_notices() -> None:
    from bohsense.firmware_bridge import DeviceStatus, StatusFlag, Temperature, WaveformFragment

    scenario = ConditionScenario.load("condition-motor-sensor-faults")
    scenario.sensor = replace(scenario.sensor, block_samples=1024)
    healthy = _frames_of(scenario, 1.0, 6.0)
    assert any(isinstance(m, WaveformFragment) for m in healthy)
    assert any(isinstance(m, Temperature) for m in healthy)
    assert [m.flags for m in healthy if isinstance(m, DeviceStatus)] == [StatusFlag(0)] * 2
    out = _frames_of(ConditionScenario.load("condition-motor-sensor-faults"), 11.1, 6.0)  # dropout
    assert not any(isinstance(m, WaveformFragment | Temperature) for m in out)
    flags = [m.flags for m in out if isinstance(m, DeviceStatus)]
    assert flags
    assert all(StatusFlag.ACCEL_FAULT in f and StatusFlag.TEMP_FAULT in f for f in flags)
    clipping = _frames_of(scenario, 24.2, 6.0)  # the range set too small
    assert any(StatusFlag.CLIPPING in m.flags for m in clipping if isinstance(m, DeviceStatus))
