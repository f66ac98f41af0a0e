"""Condition sensors at the session seam: WAVEFORM fragments in, ``WaveformBlock`` out
(whole, or flagged lost), TEMPERATURE and STATUS as channel samples, and the interpreters
the driver uses never tripping over a block."""

from __future__ import annotations

import math

import numpy as np

from bohsense.edge.drivers._serial_session import WAVEFORM_MAX_IDLE_US, SerialSession, SessionConfig
from bohsense.edge.interpreters import (
    ChannelSample,
    DeviceAttached,
    InterpreterRouter,
    LaneInterpreter,
    PassThroughInterpreter,
    WaveformBlock,
)
from bohsense.firmware_bridge import (
    Axis,
    DeviceKind,
    DeviceStatus,
    Frame,
    Hello,
    StatusFlag,
    Temperature,
    TimeSyncRequest,
    TimeSyncResponse,
    Waveform,
    split_waveform,
)

NOW = 1_790_000_000_000_000  # gateway µs
HELLO = Hello(
    "cond-1",
    DeviceKind.CONDITION,
    (1, 0, 0),
    1.0,
    ("temp_c", "temp_c_2", "status_flags", "uptime_s", "supply_v"),
)


class Device:
    """Frames as a device numbers them, fed to a session whose clock is synced."""

    def __init__(self, session: SerialSession) -> None:
        self.session = session
        self.seq = 0
        self.observations: list[object] = []

    def send(self, message: object, now_us: int = NOW) -> list[object]:
        out = self.session.on_frame(Frame(self.seq, message), now_us)  # type: ignore[arg-type]
        self.seq += 1
        self.observations += out.observations
        return list(out.observations)

    def skip(self) -> None:
        self.seq += 1  # a frame lost on the wire


def attached(*, synced_clock: bool = True) -> Device:
    session = SerialSession(SessionConfig())
    session.start(NOW)
    device = Device(session)
    (measure,) = session.on_frame(Frame(0, HELLO), NOW).send
    assert isinstance(measure, TimeSyncRequest)
    device.seq = 1
    if synced_clock:  # the device's clock is already on UTC, 1 ms each way
        device.send(TimeSyncResponse(measure.gateway_time_us, NOW + 1_000, NOW + 1_000, True), NOW + 2_000)
        assert session.state == "streaming"
    return device


def block(
    seq: int, n: int = 1000, axis: Axis = Axis.X, time_us: int = NOW - 500_000, synced: bool = True
) -> Waveform:
    rng = np.random.default_rng(seq)
    counts = tuple(int(c) for c in rng.integers(-20000, 20000, n))
    return Waveform(time_us, synced, axis, seq, 25600.0, 1 / 2048, counts)


def test_fragments_become_one_waveform_block_equal_to_what_was_sent() -> None:
    device = attached()
    sent = block(0, n=2000, axis=Axis.Z)
    made = []
    for fragment in split_waveform(sent):
        made += device.send(fragment)
    (wb,) = made
    assert isinstance(wb, WaveformBlock)
    assert (wb.device, wb.axis, wb.block_seq, wb.fs_hz, wb.lost, wb.clipped) == (
        "cond-1",
        "z",
        0,
        25600.0,
        False,
        0,
    )
    assert wb.ts == (NOW - 500_000) * 1000
    assert isinstance(wb.samples, np.ndarray)
    assert wb.samples.dtype == np.float64
    assert wb.samples.shape == (2000,)
    np.testing.assert_array_equal(wb.samples, np.array(sent.counts, dtype=np.float64) / 2048)
    assert device.session.counters["waveform_blocks"] == 1


def test_a_frame_lost_mid_block_flags_the_block_lost_and_the_next_is_whole() -> None:
    device = attached()
    first, second = split_waveform(block(0)), split_waveform(block(1))
    for i, fragment in enumerate(first):
        if i == 2:
            device.skip()
        else:
            device.send(fragment)
    for fragment in second:
        device.send(fragment)
    blocks = [o for o in device.observations if isinstance(o, WaveformBlock)]
    assert [(b.block_seq, b.lost) for b in blocks] == [(0, True), (1, False)]
    assert np.isnan(blocks[0].samples).sum() == 239
    assert np.isfinite(blocks[1].samples).all()
    counters = device.session.counters
    assert counters["frames_lost"] == 1
    assert counters["waveform_blocks_lost"] == 1
    assert counters["waveform_missing_fragment"] == 1


def test_a_block_cut_off_by_silence_is_closed_lost_by_tick() -> None:
    device = attached()
    device.send(split_waveform(block(0))[0], NOW + 10_000)
    assert device.session.tick(NOW + 10_000 + WAVEFORM_MAX_IDLE_US).observations == []
    (wb,) = device.session.tick(NOW + 20_000 + WAVEFORM_MAX_IDLE_US).observations
    assert isinstance(wb, WaveformBlock)
    assert wb.lost
    assert device.session.counters["waveform_stale"] == 1


def test_clipped_samples_are_counted_in_the_block() -> None:
    device = attached()
    counts = (0, 32767, 32767, -32768, 100)
    made = []
    for fragment in split_waveform(Waveform(NOW, True, Axis.Y, 0, 1000.0, 0.01, counts)):
        made += device.send(fragment)
    (wb,) = made
    assert isinstance(wb, WaveformBlock)
    assert wb.clipped == 3
    np.testing.assert_allclose(wb.samples, [0.0, 327.67, 327.67, -327.68, 1.0])


def test_fragments_before_the_clock_is_known_wait_and_are_placed_after() -> None:
    device = attached(synced_clock=False)
    for fragment in split_waveform(block(0, time_us=9_000_000, synced=False)):  # since-boot clock, 9 s up
        assert device.send(fragment) == []
    session = device.session
    request = session.tick(NOW + 1_500_000).send[0]  # the retry after 1 s
    assert isinstance(request, TimeSyncRequest)
    out = session.on_frame(
        Frame(device.seq, TimeSyncResponse(request.gateway_time_us, 10_000_000, 10_000_000, False)),
        NOW + 1_502_000,
    )
    (wb,) = [o for o in out.observations if isinstance(o, WaveformBlock)]
    assert not wb.lost
    assert wb.ts == (NOW + 1_501_000 - 1_000_000) * 1000  # 1 s before the device read 10 s


def test_temperature_and_status_become_channel_samples_of_the_hello_channels() -> None:
    device = attached()
    device.send(Temperature(NOW - 1000, True, 0, 4.5))
    device.send(Temperature(NOW - 1000, True, 1, -18.25))
    device.send(Temperature(NOW - 1000, True, 0, math.nan))  # no valid reading
    device.send(Temperature(NOW - 1000, True, 5, 3.0))  # a probe the HELLO does not name
    device.send(DeviceStatus(NOW - 1000, True, StatusFlag.LOW_SUPPLY, 3600, 3150))
    samples = [(o.channel, o.name, o.value) for o in device.observations if isinstance(o, ChannelSample)]
    assert samples == [
        (0, "temp_c", 4.5),
        (1, "temp_c_2", -18.25),
        (2, "status_flags", 4.0),
        (3, "uptime_s", 3600.0),
        (4, "supply_v", 3.15),
    ]
    assert all(o.ts == (NOW - 1000) * 1000 for o in device.observations if isinstance(o, ChannelSample))
    assert device.session.counters["bad_values"] == 1
    assert device.session.counters["unannounced_channel"] == 1


def test_a_reboot_mid_block_loses_the_open_block_and_numbering_starts_over() -> None:
    device = attached()
    device.send(split_waveform(block(7))[0])
    session = device.session
    (measure,) = session.on_frame(Frame(0, HELLO), NOW).send  # rebooted: HELLO is frame 0 again
    assert isinstance(measure, TimeSyncRequest)
    device.seq = 1
    device.send(TimeSyncResponse(measure.gateway_time_us, NOW + 1_000, NOW + 1_000, True), NOW + 2_000)
    for fragment in split_waveform(block(0)):  # block numbers from 0 again: not late
        device.send(fragment)
    blocks = [o for o in device.observations if isinstance(o, WaveformBlock)]
    assert [(b.block_seq, b.lost) for b in blocks] == [(7, True), (0, False)]
    assert session.counters.get("waveform_late_fragment", 0) == 0


def test_a_hello_answering_a_request_mid_block_does_not_cost_the_block() -> None:
    device = attached()
    fragments = split_waveform(block(3))
    device.send(fragments[0])
    session = device.session
    (measure,) = session.on_frame(Frame(device.seq, HELLO), NOW).send
    device.seq += 1
    assert isinstance(measure, TimeSyncRequest)
    device.send(TimeSyncResponse(measure.gateway_time_us, NOW + 1_000, NOW + 1_000, True), NOW + 2_000)
    for fragment in fragments[1:]:
        device.send(fragment)
    (wb,) = [o for o in device.observations if isinstance(o, WaveformBlock)]
    assert (wb.block_seq, wb.lost) == (3, False)


def test_the_driver_interpreters_ignore_waveform_blocks_and_count_them() -> None:
    router = InterpreterRouter({"shelf": LaneInterpreter()}, default=PassThroughInterpreter())
    router.observe(DeviceAttached("cond-1", "condition", HELLO.channels))
    wb = WaveformBlock("cond-1", "x", 0, NOW * 1000, 25600.0, np.zeros(16))
    made = router.observe(wb)
    assert made.readings == []
    assert made.events == []
    assert router.observe(object()).readings == []  # type: ignore[arg-type]
    counters = router.counters()
    assert counters["waveform_blocks_not_interpreted"] == 1
    assert counters["observations_unknown"] == 1
    shelf = InterpreterRouter({"shelf": LaneInterpreter()}, default=PassThroughInterpreter())
    shelf.observe(DeviceAttached("shelf-1", "shelf", ("lane-1",)))
    assert shelf.observe(WaveformBlock("shelf-1", "x", 0, 0, 100.0, np.zeros(4))).readings == []
