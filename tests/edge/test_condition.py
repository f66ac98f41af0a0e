"""The condition interpreter: features up, sensor faults flagged (never equipment faults),
local alarms with hysteresis, raw snapshots; refrigeration features from temperatures."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bohsense.contracts.events import Alarm, Event, WaveformSnapshot
from bohsense.edge.batcher import event_problem
from bohsense.edge.drivers.base import CommandReason, DriverError
from bohsense.edge.drivers.serial_device import SerialDeviceDriver
from bohsense.edge.features import TemperatureTrack, ThermalConfig
from bohsense.edge.interpreters import (
    ChannelSample,
    ConditionConfig,
    ConditionInterpreter,
    DeviceAttached,
    Interpretation,
    InterpreterRouter,
    PassThroughInterpreter,
    WaveformBlock,
)
from tests.edge.test_features import FS, velocity_sine

T0 = 1_764_000_000 * 10**9
S = 10**9
DEV = "compressor-1"


def block(v_rms: float, seq: int, axis: str = "x", n: int = 8192, **kw: Any) -> WaveformBlock:
    noise = np.random.default_rng(seq).normal(0.0, 0.002, n)
    samples = kw.pop("samples", velocity_sine(v_rms, 50.0, n) + noise)
    return WaveformBlock(DEV, axis, seq, T0 + seq * S, kw.pop("fs_hz", FS), samples, **kw)


def run(interp: ConditionInterpreter, observations: Iterable[Any]) -> Interpretation:
    out = Interpretation()
    for o in observations:
        out.extend(interp.observe(o))
    return out


def alarms(out: Interpretation) -> list[tuple[str, bool]]:
    return [(e.attrs.code, e.attrs.active) for e in out.events if isinstance(e.attrs, Alarm)]


def metric(out: Interpretation, name: str) -> list[float]:
    return [r.value for r in out.readings if r.metric == name]


# -- vibration ---------------------------------------------------------------------------


def test_a_good_block_becomes_feature_readings_at_its_time() -> None:
    interp = ConditionInterpreter(
        ConditionConfig.from_options({"machine_class": "group2-rigid", "rpm": 1500})
    )
    out = interp.observe(block(2.0, 1))
    names = {r.metric for r in out.readings}
    assert {"vib_x_velocity_rms_mm_s", "vib_x_iso_zone", "vib_x_kurtosis", "vib_x_2x_mm_s"} <= names
    assert metric(out, "vib_x_velocity_rms_mm_s") == [pytest.approx(2.0, rel=0.02)]
    assert metric(out, "vib_x_iso_zone") == [2.0]  # zone B
    assert metric(out, "vib_x_sensor_fault") == [0.0]
    assert {r.ts for r in out.readings} == {T0 + S}
    assert {r.device for r in out.readings} == {DEV}
    assert out.events == []


def test_zone_d_alarms_after_n_consecutive_blocks_and_clears_with_hysteresis() -> None:
    cfg = ConditionConfig.from_options(
        {
            "machine_class": "group2-rigid",
            "rpm": 1500,
            "zone_d_blocks": 3,
            "clear_blocks": 2,
            "clear_ratio": 0.9,
        }
    )
    interp = ConditionInterpreter(cfg)
    seq = iter(range(1, 1000))
    # two zone-D blocks, a zone-C block: the run starts over, nothing raised
    assert alarms(run(interp, [block(6.0, next(seq)), block(6.0, next(seq)), block(3.5, next(seq))])) == []
    assert alarms(run(interp, [block(6.0, next(seq)), block(6.0, next(seq))])) == []
    raised = run(interp, [block(6.0, next(seq))])
    assert alarms(raised) == [("vibration.zone_d.x", True)]
    alarm = next(e for e in raised.events if e.kind == "device.alarm")
    assert alarm.urgent
    assert alarm.attrs.severity == "critical"
    assert alarm.ts == T0 + 6 * S
    # more zone D: raised once only
    assert alarms(run(interp, [block(6.0, next(seq)) for _ in range(3)])) == []
    # hovering just under the C/D boundary (4.5) but above 0.9 × 4.5: no clear, no flapping
    hover = [block(v, next(seq)) for v in (4.3, 4.6, 4.2, 4.4, 4.6, 4.3, 4.2)]
    assert alarms(run(interp, hover)) == []
    # below 4.05 once, then back above: the clear run starts over
    assert alarms(run(interp, [block(3.0, next(seq)), block(4.2, next(seq))])) == []
    cleared = run(interp, [block(3.0, next(seq)), block(2.0, next(seq))])
    assert alarms(cleared) == [("vibration.zone_d.x", False)]
    assert interp.counters()["blocks"] == 20


def test_axes_alarm_on_their_own() -> None:
    interp = ConditionInterpreter(ConditionConfig(zone_d_blocks=2))
    out = run(interp, [block(6.0, 1, "x"), block(1.0, 1, "y"), block(6.0, 2, "x"), block(1.0, 2, "y")])
    assert alarms(out) == [("vibration.zone_d.x", True)]
    assert metric(out, "vib_y_iso_zone") == [1.0, 1.0]


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"samples": np.full(8192, np.nan)}, "non_finite"),
        ({"samples": np.array([])}, "empty_block"),
        ({"samples": np.full(8192, 0.25)}, "flat_signal"),
        ({"clipped": 40}, "clipped"),
        ({"fs_hz": 800.0}, "sample_rate_out_of_range"),
        ({"lost": True}, "block_incomplete"),
    ],
)
def test_a_faulty_block_is_a_sensor_fault_and_never_an_equipment_fault(
    kw: dict[str, Any], reason: str
) -> None:
    interp = ConditionInterpreter(ConditionConfig(zone_d_blocks=2, sensor_clear=2))
    # a faulty block between zone-D blocks neither raises nor breaks the run
    first = run(interp, [block(9.0, 1), block(9.0, 2, **kw)])
    assert alarms(first) == [("sensor.vib_x", True)]
    assert metric(first, "vib_x_sensor_fault") == [0.0, 1.0]
    assert {r.metric for r in first.readings if r.ts == T0 + 2 * S} == {"vib_x_sensor_fault"}, "no feature"
    sensor = next(e.attrs for e in first.events if isinstance(e.attrs, Alarm))
    assert sensor.severity == "warning"
    assert sensor.message == reason
    assert interp.counters()[f"sensor_fault_{reason}"] == 1
    second = run(interp, [block(9.0, 3, **kw), block(9.0, 4)])
    assert alarms(second) == [("vibration.zone_d.x", True)], "the sensor alarm is raised once"
    assert alarms(run(interp, [block(9.0, 5)])) == [("sensor.vib_x", False)], "cleared after 2 good blocks"


def test_a_stuck_sensor_resending_its_block_is_flagged() -> None:
    interp = ConditionInterpreter()
    same = velocity_sine(2.0, 50.0, 8192)
    out = run(interp, [block(0, 1, samples=same), block(0, 2, samples=same.copy())])
    assert metric(out, "vib_x_sensor_fault") == [0.0, 1.0]
    assert interp.counters()["sensor_fault_repeated_block"] == 1


@settings(max_examples=150, deadline=None)
@given(
    samples=st.one_of(
        hnp.arrays(np.float64, st.integers(0, 9000), elements=st.floats(allow_nan=True, allow_infinity=True)),
        hnp.arrays(np.float64, st.tuples(st.integers(0, 3), st.integers(0, 3))),
        st.lists(st.one_of(st.floats(), st.text(max_size=2), st.none()), max_size=20),
        st.none(),
    ),
    fs=st.one_of(st.floats(), st.integers(-5, 10**7), st.none(), st.text(max_size=3)),
    axis=st.one_of(st.sampled_from(["x", "y", "z"]), st.text(max_size=10)),
    ts=st.one_of(st.integers(-(2**64), 2**64), st.floats()),
    lost=st.booleans(),
    clipped=st.one_of(st.integers(-3, 3), st.floats(), st.none()),
)
def test_arbitrary_waveform_observations_never_crash_the_interpreter(
    samples: Any, fs: Any, axis: Any, ts: Any, lost: bool, clipped: Any
) -> None:
    interp = ConditionInterpreter(ConditionConfig(zone_d_blocks=1))
    for seq in range(2):
        out = interp.observe(WaveformBlock(DEV, axis, seq, ts, fs, samples, lost, clipped))
        for r in out.readings:
            assert math.isfinite(r.value)
            if r.metric.endswith("_sensor_fault") and r.value == 1.0:
                assert not [a for a in alarms(out) if a[0].startswith("vibration.")]
        for e in out.events:
            assert event_problem(e) == ("", event_problem(e)[1]), "the cloud would take every event"


# -- snapshots ---------------------------------------------------------------------------


def decoded(e: Event) -> np.ndarray:
    a = e.attrs
    assert isinstance(a, WaveformSnapshot)
    return np.frombuffer(a.samples, dtype="<i2").astype(np.float64) * a.scale_g


def test_an_alarm_sends_the_kept_blocks_and_the_next_ones() -> None:
    interp = ConditionInterpreter(
        ConditionConfig(zone_d_blocks=2, snapshot_blocks=3, snapshot_after_blocks=2)
    )
    blocks = [block(1.0, 1), block(1.0, 2), block(6.0, 3), block(6.0, 4)]
    out = run(interp, blocks)
    snaps = [e for e in out.events if e.kind == "condition.snapshot"]
    assert [e.attrs.block_seq for e in snaps] == [2, 3, 4]  # type: ignore[attr-defined]
    assert {(e.attrs.trigger, e.attrs.ref) for e in snaps} == {("alarm", "vibration.zone_d.x")}  # type: ignore[attr-defined]
    assert out.events[0].kind == "device.alarm", "the alarm goes before its snapshots"
    after = run(interp, [block(6.0, 5), block(6.0, 6), block(6.0, 7)])
    assert [e.attrs.block_seq for e in after.events] == [5, 6]  # type: ignore[attr-defined]
    for e, b in zip(snaps, blocks[1:], strict=True):
        x = np.asarray(b.samples)
        assert e.ts == b.ts
        assert e.attrs.fs_hz == FS
        assert np.max(np.abs(decoded(e) - x)) <= e.attrs.scale_g  # type: ignore[attr-defined]
        problem, size = event_problem(e)
        assert problem == ""
        assert size < 20_000, "one 8192-sample block: about 16 KiB"


def test_snapshot_on_demand_per_axis_including_a_faulty_block() -> None:
    interp = ConditionInterpreter(ConditionConfig(snapshot_blocks=4))
    nan_block = velocity_sine(1.0, 50.0, 8192)
    nan_block[10] = np.nan
    run(interp, [block(1.0, 1, "x"), block(1.0, 1, "y"), block(1.0, 2, "x", samples=nan_block)])
    assert interp.snapshot("nobody", 8) == []
    both = interp.snapshot(DEV, 8, ref="cmd-1")
    assert [(e.attrs.axis, e.attrs.block_seq, e.attrs.fault) for e in both] == [  # type: ignore[attr-defined]
        ("x", 1, ""), ("x", 2, "non_finite"), ("y", 1, ""),
    ]  # fmt: skip
    assert all(e.attrs.trigger == "command" and e.attrs.ref == "cmd-1" for e in both)  # type: ignore[attr-defined]
    assert decoded(both[1])[10] == 0.0, "a non-finite sample is sent as 0"
    assert [e.attrs.block_seq for e in interp.snapshot(DEV, 1, "x")] == [2]  # type: ignore[attr-defined]


class _Session:
    device = DEV


class _Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def put(self, reading: object) -> None:
        pass

    def put_event(self, event: Event) -> None:
        self.events.append(event)


async def test_the_snapshot_command_of_the_serial_driver() -> None:
    driver = SerialDeviceDriver.from_options("comp", {"port": "loop://", "condition": {"snapshot_blocks": 2}})
    refused = await driver.command("snapshot", {})
    assert refused.reason is CommandReason.DEVICE_UNAVAILABLE
    sink = _Sink()
    driver._sink = sink
    driver._session = _Session()  # type: ignore[assignment]
    for o in (DeviceAttached(DEV, "condition", ("temp_c",)), block(1.0, 1), block(1.0, 2), block(1.0, 3)):
        driver.interpreters.observe(o)
    done = await driver.command("snapshot", {"blocks": 5, "axis": "x"})
    assert done.ok, done
    assert [e.attrs.block_seq for e in sink.events] == [2, 3]  # type: ignore[attr-defined]
    assert (await driver.command("snapshot", {"axis": "w"})).reason is CommandReason.BAD_ARGUMENT
    assert (await driver.command("snapshot", {"blocks": 0})).reason is CommandReason.BAD_ARGUMENT
    assert (await driver.command("snapshot", {"blocks": "all"})).reason is CommandReason.BAD_ARGUMENT
    assert (await driver.command("snapshot", {"axis": "y"})).reason is CommandReason.DEVICE_UNAVAILABLE


# -- channels and temperatures -----------------------------------------------------------


def temps(
    values: Sequence[float], every_s: float = 10.0, start: int = 0, name: str = "temp_c"
) -> list[ChannelSample]:
    return [ChannelSample(DEV, 0, name, T0 + int((start + i * every_s) * S), v) for i, v in enumerate(values)]


def test_the_channels_the_demo_sends_still_read_as_before_through_the_router() -> None:
    router = InterpreterRouter({"condition": ConditionInterpreter()}, default=PassThroughInterpreter())
    out = Interpretation()
    for o in (
        DeviceAttached(DEV, "condition", ("temp_c", "vib_rms_mm_s")),
        ChannelSample(DEV, 0, "temp_c", T0, 38.2),
        ChannelSample(DEV, 1, "vib_rms_mm_s", T0, 1.8),
        ChannelSample(DEV, 1, "vib_rms_mm_s", T0 + S, -4.0),  # no RMS is negative
    ):
        out.extend(router.observe(o))
    assert [(r.metric, r.value) for r in out.readings] == [
        ("temp_c", 38.2), ("vib_rms_mm_s", 1.8), ("vib_rms_mm_s_sensor_fault", 1.0),
    ]  # fmt: skip


def test_absurd_spiking_and_stuck_temperatures_are_sensor_faults_withheld() -> None:
    cfg = ConditionConfig.from_options(
        {"temp_limit_c": -15.0, "temp_limit_s": 60, "temp_stuck_s": 600, "sensor_clear": 1}
    )
    interp = ConditionInterpreter(cfg)
    out = run(interp, temps([-20.0, 400.0, -20.1, 85.0, -19.9]))
    assert metric(out, "temp_c") == [-20.0, -20.1, -19.9]
    assert metric(out, "temp_c_sensor_fault") == [1.0, 0.0, 1.0, 0.0]
    assert alarms(out) == [("sensor.temp_c", True), ("sensor.temp_c", False)] * 2
    assert interp.counters()["sensor_fault_temperature_out_of_range"] == 1
    assert interp.counters()["sensor_fault_temperature_spike"] == 1
    # stuck at one value (above the limit) for 20 min: flagged after 10, no temperature alarm
    stuck = run(interp, temps([-10.0] * 121, every_s=10.0, start=50))
    assert not [a for a in alarms(stuck) if a[0].startswith("temperature.")][1:], "raised once at most"
    assert interp.counters()["sensor_fault_temperature_stuck"] == 61
    high = [a for a in alarms(stuck) if a[0].startswith("temperature.")]
    assert high == [("temperature.high.temp_c", True)], "raised by the minute of good samples only"


def test_a_freezer_above_its_limit_for_n_minutes_alarms_in_event_time_and_clears_with_hysteresis() -> None:
    cfg = ConditionConfig.from_options(
        {"temp_limit_c": -15.0, "temp_limit_s": 1800, "temp_clear_c": -17.0, "temp_clear_s": 300}
    )
    interp = ConditionInterpreter(cfg)
    # 29 min above the limit, one sample below, 29 min above: no alarm
    warm = [-14.0 + 0.01 * (i % 3) for i in range(175)]
    assert alarms(run(interp, temps([*warm, -16.0, *warm]))) == []
    # 30 min above, event time (samples every 60 s, the interpreter never reads a clock)
    interp = ConditionInterpreter(cfg)
    out = run(interp, temps([-14.0 + 0.01 * (i % 2) for i in range(31)], every_s=60))
    raised = [(e.ts, e.attrs.code, e.attrs.active) for e in out.events if isinstance(e.attrs, Alarm)]
    assert raised == [(T0 + 1800 * S, "temperature.high.temp_c", True)]
    # between the limit and the clear level: stays raised; at -17 for 5 min: cleared
    between = run(interp, temps([-16.0 + 0.01 * (i % 2) for i in range(20)], every_s=60, start=1900))
    assert alarms(between) == []
    cold = run(interp, temps([-17.5 + 0.01 * (i % 2) for i in range(7)], every_s=60, start=3200))
    assert [(e.ts, e.attrs.active) for e in cold.events] == [(T0 + 3500 * S, False)]  # type: ignore[attr-defined]


def compressor_cycle(hours: float, period_s: float, on_frac: float, every_s: float = 10.0) -> list[float]:
    """A freezer air temperature: falling 3 °C while the compressor runs, rising back while
    it is off, between -21 and -18 °C."""
    out = []
    for i in range(int(hours * 3600 / every_s)):
        phase = (i * every_s) % period_s / period_s
        if phase < on_frac:
            out.append(-18.0 - 3.0 * phase / on_frac)
        else:
            out.append(-21.0 + 3.0 * (phase - on_frac) / (1 - on_frac))
    return out


def test_duty_cycle_from_temperature_alone() -> None:
    track = TemperatureTrack(ThermalConfig(window_s=3600, smooth_s=30, slope_c_s=0.0005))
    values = compressor_cycle(3.0, period_s=1200, on_frac=0.4)
    duty = []
    for i, v in enumerate(values):
        got = track.add(T0 - T0 % (3600 * S) + i * 10 * S, v)
        if "duty" in got:
            duty.append((got["duty"][1], got["cycles"][1], got["mean"][1]))
    assert len(duty) == 2
    for d, cycles, mean in duty:
        assert d == pytest.approx(0.4, abs=0.05)
        assert cycles == 3
        assert mean == pytest.approx(-19.5, abs=0.1)


def test_duty_cycle_from_the_compressor_current() -> None:
    cfg = ConditionConfig.from_options({"stats_window_s": 600})
    interp = ConditionInterpreter(cfg)
    base = T0 - T0 % (600 * S)
    out = Interpretation()
    for i in range(130):  # 10 s steps, on for 3 of every 10 steps
        ts = base + i * 10 * S
        out.extend(interp.observe(ChannelSample(DEV, 1, "current_a", ts, 4.2 if i % 10 < 3 else 0.1)))
        out.extend(interp.observe(ChannelSample(DEV, 0, "temp_c", ts, -19.0 + 0.01 * (i % 7))))
    assert metric(out, "temp_c_duty")[:2] == [pytest.approx(0.3, abs=0.02)] * 2
    assert metric(out, "temp_c_cycles")[:2] == [6.0, 6.0]


def test_defrost_is_detected_and_a_door_left_open_is_not() -> None:
    cfg = ThermalConfig(defrost_rise_c=4.0, defrost_min_s=300, baseline_s=7200, window_s=86_400)
    track = TemperatureTrack(cfg)
    cycling = compressor_cycle(2.0, period_s=1200, on_frac=0.4)
    door = [-19.0 + 7.0 * min(1.0, i / 6) for i in range(12)]  # 2 min at -12 °C, then back
    defrost = [-19.0 + min(12.0, i * 0.5) for i in range(150)]  # 25 min, up to -7 °C
    values = [*cycling, *door, *cycling[:360], *defrost, *cycling[:360]]
    events = []
    for i, v in enumerate(values):
        got = track.add(T0 + i * 10 * S, v)
        events += [(k, got[k][1]) for k in ("defrost", "defrost_s") if k in got]
    assert [k for k, _ in events] == ["defrost", "defrost", "defrost_s"]
    assert [v for k, v in events if k == "defrost"] == [1.0, 0.0]
    length = dict(events)["defrost_s"]
    assert 1300 <= length <= 1600, length


def test_a_bad_condition_table_is_refused_naming_the_key() -> None:
    for options, message in [
        ({"machine_class": "group3"}, "condition.machine_class"),
        ({"rpm": "fast"}, "condition.rpm"),
        ({"zone_d_blocks": 0}, "zone_d_blocks"),
        ({"zone_d_blocks": 2.5}, "condition.zone_d_blocks"),
        ({"bearing": {"balls": 9, "ball_d": 8.0}}, "condition.bearing"),
        ({"bearing": {"balls": 9, "ball_d": 40.0, "pitch_d": 39.0}}, "ball_d < pitch_d"),
        ({"temp_clear_c": -20.0}, "temp_clear_c"),
        ({"temp_limit_c": -15.0, "temp_clear_c": -10.0}, "below it"),
        ({"rpm_range": [3000]}, "condition.rpm_range"),
        ({"alarm_after": 3}, "unknown condition key"),
    ]:
        with pytest.raises(ValueError, match=message):
            ConditionConfig.from_options(options)
        with pytest.raises(DriverError, match="device 'comp'"):
            SerialDeviceDriver.from_options("comp", {"port": "/dev/null", "condition": options})
    cfg = ConditionConfig.from_options(
        {
            "machine_class": "small",
            "rpm": 2900,
            "bearing": {"balls": 8, "ball_d": 7.9, "pitch_d": 34.5, "contact_deg": 0},
            "sample_rate_hz": 25600,
            "zone_d_blocks": 5,
            "temp_limit_c": -15,
            "temp_limit_s": 1800,
            "temperature_channels": ["temp_c", "temp_evap_c"],
        }
    )
    assert cfg.vibration.rpm == 2900.0
    assert cfg.vibration.bearing is not None
    assert cfg.zone_d_blocks == 5
    assert cfg.temp_clear == -17.0
    assert cfg.is_temperature("temp_evap_c")
    assert not cfg.is_temperature("temperature")


def test_a_session_reusing_its_buffer_is_not_a_stuck_sensor() -> None:
    interp = ConditionInterpreter()
    buf = velocity_sine(2.0, 50.0, 8192)
    first = interp.observe(block(0, 1, samples=buf))
    buf[:] = velocity_sine(2.0, 60.0, 8192)  # the next block, in the same array
    second = interp.observe(block(0, 2, samples=buf))
    assert metric(first, "vib_x_sensor_fault") == metric(second, "vib_x_sensor_fault") == [0.0]
    snaps = interp.snapshot(DEV, 2)
    assert not np.array_equal(decoded(snaps[0]), decoded(snaps[1])), "the kept blocks are copies"


def test_the_current_read_before_a_temperature_counts_for_its_track() -> None:
    interp = ConditionInterpreter(ConditionConfig.from_options({"stats_window_s": 60}))
    base = T0 - T0 % (60 * S)
    out = run(interp, [ChannelSample(DEV, 1, "current_a", base, 5.0)])
    out.extend(
        run(
            interp, [ChannelSample(DEV, 0, "temp_c", base + i * S, -19.0 + 0.01 * (i % 2)) for i in range(61)]
        )
    )
    assert metric(out, "temp_c_duty") == [1.0]
    assert metric(out, "current_a") == [5.0]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["temp_c", "temp_evap_c", "current_a", "vib_rms_mm_s", "door"]),
            st.integers(-(10**12), 10**13),
            st.one_of(st.floats(), st.integers(-(10**6), 10**6), st.booleans(), st.none()),
        ),
        max_size=60,
    )
)
def test_arbitrary_channel_samples_never_crash_and_absurd_values_never_go_up(
    samples: list[tuple[str, int, Any]],
) -> None:
    interp = ConditionInterpreter(ConditionConfig(temp_limit_c=-15.0, temp_limit_s=60.0))
    for name, dt, value in samples:
        out = interp.observe(ChannelSample(DEV, 0, name, T0 + dt, value))
        for r in out.readings:
            assert math.isfinite(r.value)
            if r.metric in ("temp_c", "temp_evap_c"):
                assert -60.0 <= r.value <= 150.0
            if r.metric == "vib_rms_mm_s":
                assert 0.0 <= r.value <= 1000.0
        for e in out.events:
            assert event_problem(e)[0] == ""
