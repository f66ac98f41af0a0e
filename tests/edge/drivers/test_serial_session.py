"""The serial session state machine and the lane estimator, at the seam: frames in,
observations out, and those through the interpreters the driver uses: readings out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from bohsense.contracts.events import Event
from bohsense.contracts.schema import Reading
from bohsense.edge.drivers._serial_session import TRANSITIONS, SerialSession, SessionConfig, SessionOutput
from bohsense.edge.interpreters import (
    ChannelInvalid,
    ChannelSample,
    DeviceAttached,
    InterpreterRouter,
    LaneConfig,
    LaneEstimator,
    LaneInterpreter,
    PassThroughInterpreter,
    StabilityConfig,
    Tared,
)
from bohsense.firmware_bridge import (
    Ack,
    DeviceKind,
    Frame,
    Heartbeat,
    Hello,
    HelloRequest,
    Nack,
    NackReason,
    Samples,
    TimeSyncRequest,
    TimeSyncResponse,
)

NOW = 1_790_000_000_000_000  # gateway µs
HELLO = Hello("shelf-2", DeviceKind.SHELF, (1, 0, 0), 10.0, ("lane-1",))


@dataclass
class Out:
    """A session output with its observations interpreted as the serial driver does."""

    session: SessionOutput
    readings: list[Reading] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    state_changed: bool = False

    @property
    def send(self) -> list[object]:
        return list(self.session.send)

    @property
    def replies(self) -> list[object]:
        return list(self.session.replies)


class Wired:
    """``SerialSession`` → ``InterpreterRouter`` (lanes for shelves, pass-through otherwise)."""

    def __init__(self, config: SessionConfig, lanes: LaneInterpreter | None = None) -> None:
        self.session = SerialSession(config)
        self.lanes = lanes or LaneInterpreter()
        self.router = InterpreterRouter({"shelf": self.lanes}, default=PassThroughInterpreter())

    def __getattr__(self, name: str) -> object:
        return getattr(self.session, name)

    def _run(self, out: SessionOutput) -> Out:
        wired = Out(out)
        for observation in out.observations:
            made = self.router.observe(observation)
            wired.readings += made.readings
            wired.events += made.events
            wired.state_changed |= made.state_changed
        return wired

    def start(self, now_us: int) -> Out:
        return self._run(self.session.start(now_us))

    def tick(self, now_us: int) -> Out:
        return self._run(self.session.tick(now_us))

    def on_frame(self, frame: Frame, now_us: int) -> Out:
        return self._run(self.session.on_frame(frame, now_us))


def handshake(session: Wired, boot_us: int = 5_000_000, released: list[Reading] | None = None) -> int:
    """HELLO, measure (unsynced clock), step; returns the next device seq.

    The device clock reads ``boot_us`` at gateway time NOW + 2 ms (1 ms each way).
    """
    assert session.start(NOW).send == [HelloRequest()]
    out = session.on_frame(Frame(0, HELLO), NOW + 1_000)
    (measure,) = out.send
    assert isinstance(measure, TimeSyncRequest)
    assert measure.adjust_us is None
    assert session.state == "measuring"
    # device clock reads boot_us at gateway NOW+1_000 (+1 ms each way)
    out = session.on_frame(
        Frame(1, TimeSyncResponse(measure.gateway_time_us, boot_us, boot_us, False)), NOW + 3_000
    )
    if released is not None:
        released.extend(out.readings)
    (step,) = out.send
    assert isinstance(step, TimeSyncRequest)
    assert step.adjust_us == NOW + 2_000 - boot_us
    assert session.state == "stepping"
    out = session.on_frame(
        Frame(2, TimeSyncResponse(step.gateway_time_us, NOW + 4_000, NOW + 4_000, True)), NOW + 5_000
    )
    assert session.state == "streaming"
    return 3


def test_transition_table_is_the_only_way() -> None:
    session = SerialSession(SessionConfig())
    assert ("await-hello", "clock-ok") not in TRANSITIONS
    with pytest.raises(KeyError):
        session._go("clock-ok")


def test_unsynced_device_is_stepped_and_every_sample_is_placed() -> None:
    session = Wired(SessionConfig(), LaneInterpreter((LaneConfig(355.0, 150.0),)))
    session.start(NOW)
    early = session.on_frame(Frame(10, Samples(4_900_000, False, (3700.0,))), NOW - 100_000)  # before HELLO
    assert early.readings == []
    released: list[Reading] = []
    seq = handshake(session, boot_us=5_000_000, released=released)
    # the sample taken 100 ms before the measurement instant, on the gateway clock
    assert [(r.metric, r.ts, r.value) for r in released] == [
        ("weight_g", (NOW + 2_000 - 100_000) * 1000, 3550.0)
    ]
    out = session.on_frame(Frame(seq, Samples(NOW + 100_000, True, (3700.0,))), NOW + 101_000)
    assert session.counters["clock_steps"] == 1
    ts = [r.ts for r in out.readings if r.metric == "weight_g"]
    assert ts == [(NOW + 100_000) * 1000]
    assert session.counters["samples"] == 2


def test_duplicates_are_dropped_and_gaps_counted() -> None:
    session = Wired(SessionConfig())
    seq = handshake(session)
    a = session.on_frame(Frame(seq, Samples(NOW, True, (1.0,))), NOW)
    dup = session.on_frame(Frame(seq, Samples(NOW, True, (1.0,))), NOW)
    gap = session.on_frame(Frame(seq + 4, Samples(NOW + 400_000, True, (1.0,))), NOW + 400_000)
    assert len(a.readings) == 1
    assert dup.readings == []
    assert len(gap.readings) == 1
    assert session.counters["duplicates"] == 1
    assert session.counters["frames_lost"] == 3


def test_stale_sync_response_and_replies() -> None:
    session = Wired(SessionConfig())
    seq = handshake(session)
    out = session.on_frame(Frame(seq, TimeSyncResponse(123, 1, 1, True)), NOW)
    assert session.counters["stale_sync_responses"] == 1
    out = session.on_frame(Frame(seq + 1, Ack(42)), NOW)
    assert out.replies == [(42, Ack(42))]
    session.on_frame(Frame(seq + 2, Heartbeat(1000, 3)), NOW)
    assert session.counters["device_tx_dropped"] == 3


def test_resync_after_resync_s_and_hello_restarts() -> None:
    session = Wired(SessionConfig(resync_s=1.0))
    handshake(session)
    out = session.tick(NOW + 2_000_000)
    assert session.state == "measuring"
    assert isinstance(out.send[0], TimeSyncRequest)
    assert out.send[0].adjust_us is None
    # a retry never repeats a clock step (it may have been applied already)
    retry = session.tick(NOW + 3_500_000)
    assert isinstance(retry.send[0], TimeSyncRequest)
    assert retry.send[0].adjust_us is None
    session.on_frame(Frame(0, HELLO), NOW + 4_000_000)  # device rebooted
    assert session.clocks == {}
    assert session.state == "measuring"


def test_samples_with_wrong_channel_count_or_nan_are_counted() -> None:
    session = Wired(SessionConfig())
    seq = handshake(session)
    out = session.on_frame(Frame(seq, Samples(NOW, True, (1.0, 2.0))), NOW)
    out2 = session.on_frame(Frame(seq + 1, Samples(NOW, True, (float("nan"),))), NOW)
    assert out.readings == out2.readings == []
    assert session.counters["bad_channel_count"] == 1
    assert session.counters["bad_values"] == 1


def feed(estimator: LaneEstimator, weights: list[float], start_ns: int = 0) -> list[int | None]:
    return [estimator.add(start_ns + i * 100_000_000, w) for i, w in enumerate(weights)]


def test_lane_estimator_needs_a_full_stable_window() -> None:
    est = LaneEstimator(LaneConfig(355.0, 150.0), StabilityConfig(window_s=0.5, tolerance_g=15.0))
    got = feed(est, [150 + 3 * 355 + d for d in (1, -2, 3, 0, -1, 2, 1, 0)])
    assert got[:5] == [None] * 5
    assert got[5] == 3
    assert got[6:] == [None, None], "unchanged units are not repeated before the heartbeat"


def test_lane_estimator_rejects_ringing_and_implausible_weights() -> None:
    est = LaneEstimator(LaneConfig(355.0, 150.0), StabilityConfig(window_s=0.5, tolerance_g=15.0))
    ringing = [150 + 3 * 355 + 200 * (-0.6) ** i for i in range(8)]
    assert all(u is None for u in feed(est, ringing))
    assert est.unstable > 0
    half_unit = [150 + 3.5 * 355 + d for d in (1, -1, 0, 1, -1, 0, 1)]
    assert all(u is None for u in feed(est, half_unit, start_ns=10**9))
    assert est.implausible > 0


def test_lane_estimator_clamps_and_heartbeats() -> None:
    est = LaneEstimator(LaneConfig(355.0, 150.0), StabilityConfig(window_s=0.3, heartbeat_s=1.0))
    got = feed(est, [140.0] * 25)
    assert [u for u in got if u is not None] == [0, 0, 0]
    assert LaneEstimator(LaneConfig(None), StabilityConfig()).add(0, 5.0) is None


@pytest.mark.parametrize("garbage", [2**63 - 1, -(2**63), 2**62])
def test_an_absurd_clock_offset_is_refused_not_stepped(garbage: int) -> None:
    session = Wired(SessionConfig())
    session.start(NOW)
    (measure,) = session.on_frame(Frame(0, HELLO), NOW + 1_000).send
    out = session.on_frame(
        Frame(1, TimeSyncResponse(measure.gateway_time_us, garbage, garbage, True)), NOW + 3_000
    )
    assert out.send == [], "no step of an offset no clock can have"
    assert session.counters["clock_invalid"] == 1
    assert session.state == "measuring", "measured again on the next tick"
    assert session.clocks == {}
    out = session.tick(NOW + 1_003_000)
    (again,) = out.send
    assert isinstance(again, TimeSyncRequest)
    assert again.adjust_us is None
    # a sane answer afterwards is taken as usual
    out = session.on_frame(
        Frame(2, TimeSyncResponse(again.gateway_time_us, 7_000, 7_000, False)), NOW + 1_005_000
    )
    (step,) = out.send
    assert isinstance(step, TimeSyncRequest)
    assert step.adjust_us == NOW + 1_004_000 - 7_000


def test_an_acknowledged_tare_moves_the_offset_at_the_ack_and_reports_it() -> None:
    lane = LaneConfig(unit_weight_g=100.0, tare_g=50.0)
    stability = StabilityConfig(window_s=0.2, heartbeat_s=60)
    lanes = LaneInterpreter((lane,), stability)
    session = Wired(SessionConfig(), lanes)
    seq = handshake(session)
    device_us = NOW + 10_000  # synced device clock ≈ gateway clock after the step

    def samples(grams: float, count: int, start: int) -> list[Reading]:
        nonlocal seq, device_us
        out: list[Reading] = []
        for _ in range(count):
            device_us += 50_000
            out += session.on_frame(
                Frame(seq, Samples(device_us, True, (grams,))), device_us + 1_000
            ).readings
            seq += 1
        return out

    before = samples(50.0 + 300.0, 8, seq)  # 3 units on the lane
    assert [r.value for r in before if r.metric == "units"] == [3.0]
    assert lanes.lanes("shelf-2")[0].units == 3
    session.expect_tare(77, 1, keep=True)  # forced: re-baseline
    out = session.on_frame(Frame(seq, Ack(77)), device_us + 2_000)
    seq += 1
    assert out.session.observations == [Tared("shelf-2", (0,), True)]
    assert out.state_changed
    assert lanes.offsets("shelf-2") == {1: -300.0}
    assert lanes.snapshot() == {"shelf-2": {"1": -300.0}}
    assert out.replies == [(77, Ack(77))]
    after = samples(0.0, 8, seq)  # the device now reads the present load as 0
    weights = [r.value for r in after if r.metric == "weight_g"]
    assert weights == [300.0] * 8, "the weight carries on"
    assert [r.value for r in after if r.metric == "units"] == [], "unchanged: nothing new to emit"
    assert lanes.lanes("shelf-2")[0].units == 3
    # a NACKed tare changes nothing; offsets kept from before are applied at HELLO
    session.expect_tare(78, 1, keep=False)
    nacked = session.on_frame(Frame(seq, Nack(78, NackReason.BUSY, "")), device_us)
    assert (nacked.session.observations, nacked.state_changed) == ([], False)
    late = session.on_frame(Frame(seq + 1, Ack(78)), device_us)
    assert (late.session.observations, late.state_changed) == ([], False), "its late ACK neither"
    restored = LaneInterpreter((lane,), stability)
    restored.restore(lanes.snapshot())
    again = Wired(SessionConfig(), restored)
    handshake(again)
    assert restored.lanes("shelf-2")[0].offset_g == -300.0


def test_the_session_emits_neutral_observations_in_stream_order() -> None:
    session = SerialSession(SessionConfig(device_id="bay 4"))
    session.start(NOW)
    out = session.on_frame(Frame(0, HELLO), NOW + 1_000)
    assert out.observations == [DeviceAttached("bay_4", "shelf", ("lane-1",), (NOW + 1_000) * 1000)]
    (measure,) = out.send
    assert isinstance(measure, TimeSyncRequest)
    out = session.on_frame(
        Frame(1, TimeSyncResponse(measure.gateway_time_us, NOW + 2_000, NOW + 2_000, True)), NOW + 3_000
    )
    assert session.state == "streaming"
    out = session.on_frame(Frame(2, Samples(NOW + 10_000, True, (412.5,))), NOW + 11_000)
    assert out.observations == [ChannelSample("bay_4", 0, "lane-1", (NOW + 10_000) * 1000, 412.5)]
    out = session.on_frame(Frame(3, Samples(NOW + 20_000, True, (math.nan,))), NOW + 21_000)
    assert out.observations == [ChannelInvalid("bay_4", 0, "lane-1", (NOW + 20_000) * 1000)], (
        "a NaN (the ADC's fault flag) is observed, not silently dropped"
    )
