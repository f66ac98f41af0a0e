"""The condition-sensor physics holds what it claims: fault lines where the theory puts
them, defrosts at their period, refrigeration faults that show, sensor faults that are
the sensor's, and the same seed giving the same output."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pytest

from bohsense.simulators import (
    CASES,
    MACHINES,
    Bearing,
    FaultSpec,
    RefrigerationTrace,
    SensorFault,
    SensorFaults,
    machine_waveform,
    simulate_case,
)

FS = 25600.0
N = 16384  # 1.5625 Hz bins
BIN = FS / N
T0 = 1234.5


def spectrum(x: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    return np.fft.rfftfreq(len(x), 1 / FS), np.abs(np.fft.rfft((x - x.mean()) * np.hanning(len(x))))


def envelope_spectrum(
    x: npt.NDArray[np.float64], band: tuple[float, float]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Band-pass around the resonance, analytic signal, magnitude: the classic bearing envelope."""
    spec = np.fft.fft(x)
    freqs = np.fft.fftfreq(len(x), 1 / FS)
    keep = (freqs > band[0]) & (freqs < band[1])
    env = np.abs(np.fft.ifft(np.where(keep, 2 * spec, 0)))
    return spectrum(env)


def peak(f: npt.NDArray[np.float64], s: npt.NDArray[np.float64], lo: float, hi: float) -> float:
    sel = (f >= lo) & (f <= hi)
    return float(f[sel][np.argmax(s[sel])])


def test_bearing_frequencies_match_the_published_6205_multipliers() -> None:
    # the CWRU drive-end bearing (SKF 6205-2RS): BPFI 5.4152, BPFO 3.5848, FTF 0.39828 and
    # 4.7135 for the ball (twice the ball spin frequency), per Hz of shaft speed
    f = Bearing(9, 7.94, 39.04).frequencies(1.0)
    assert f.bpfi == pytest.approx(5.4152, abs=2e-4)
    assert f.bpfo == pytest.approx(3.5848, abs=2e-4)
    assert f.ftf == pytest.approx(0.39828, abs=2e-4)
    assert 2 * f.bsf == pytest.approx(4.7135, abs=2e-3)
    angled = Bearing(9, 7.94, 39.04, contact_angle_deg=40.0).frequencies(1.0)
    assert angled.bpfo > f.bpfo  # a contact angle shrinks d/D·cos φ
    with pytest.raises(ValueError, match="geometry"):
        Bearing(9, 40.0, 39.0)


@pytest.mark.parametrize("kind", list(MACHINES))
@pytest.mark.parametrize("axis", ["x", "y"])
def test_imbalance_puts_the_spectrum_peak_at_1x(kind: str, axis: str) -> None:
    machine = MACHINES[kind]
    x = machine_waveform(machine, {"imbalance": 0.5}, T0, n=N, fs_hz=FS, axis=axis, seed=4)
    f, s = spectrum(x)
    assert abs(peak(f, s, 2.0, FS / 2) - machine.shaft_hz_at(T0)) <= BIN


def test_imbalance_grows_the_1x_line_with_severity() -> None:
    machine = MACHINES["motor"]
    fr = machine.shaft_hz_at(T0)
    amps = []
    for severity in (0.0, 0.25, 1.0):
        f, s = spectrum(machine_waveform(machine, {"imbalance": severity}, T0, n=N, fs_hz=FS, seed=1))
        amps.append(s[np.argmin(abs(f - fr))])
    assert amps[0] < amps[1] < amps[2]
    assert amps[2] > 5 * amps[0]


def test_misalignment_shows_at_2x_strongest_in_the_axial_direction() -> None:
    machine = MACHINES["conveyor"]
    fr = machine.shaft_hz_at(T0)
    lines = {}
    for axis in ("x", "z"):
        f, s = spectrum(
            machine_waveform(machine, {"misalignment": 0.8}, T0, n=N, fs_hz=FS, axis=axis, seed=2)
        )
        lines[axis] = (s[np.argmin(abs(f - fr))], s[np.argmin(abs(f - 2 * fr))])
        if axis == "z":
            assert abs(peak(f, s, 2.0, 2000.0) - 2 * fr) <= BIN
    assert lines["z"][1] > 2 * lines["x"][1], "2× is an axial line"
    assert lines["z"][1] > lines["z"][0]


def test_looseness_raises_many_harmonics_and_half_harmonics() -> None:
    machine = MACHINES["motor"]
    fr = machine.shaft_hz_at(T0)

    def lines(severity: float) -> npt.NDArray[np.float64]:
        f, s = spectrum(
            machine_waveform(machine, {"looseness": severity}, T0, n=N, fs_hz=FS, axis="y", seed=3)
        )
        return np.array([s[np.argmin(abs(f - k * fr))] for k in np.arange(1, 10.5, 0.5)])

    healthy, loose = lines(0.0), lines(1.0)
    assert np.sum(loose > 4 * healthy) >= 12, "most of 1×…10× and the half-harmonics stand up"


@pytest.mark.parametrize(
    ("fault", "line"),
    [("outer_race", "bpfo"), ("inner_race", "bpfi")],
)
@pytest.mark.parametrize("kind", ["motor", "compressor", "fan"])
def test_a_race_fault_puts_the_envelope_spectrum_peak_at_its_defect_frequency(
    kind: str, fault: str, line: str
) -> None:
    machine = MACHINES[kind]
    x = machine_waveform(machine, {fault: 0.2}, T0, n=N, fs_hz=FS, axis="x", seed=5)
    band = (machine.resonance_hz * 0.7, machine.resonance_hz * 1.3)
    f, e = envelope_spectrum(x, band)
    expected = getattr(machine.defect_frequencies(T0), line)
    assert abs(peak(f, e, 5.0, 500.0) - expected) <= BIN
    # and a healthy bearing has no such line
    _, healthy_e = envelope_spectrum(machine_waveform(machine, {}, T0, n=N, fs_hz=FS, axis="x", seed=5), band)
    at = np.argmin(abs(f - expected))
    assert e[at] > 10 * healthy_e[at]


def test_an_inner_race_fault_has_shaft_sidebands_around_bpfi() -> None:
    machine = MACHINES["motor"]
    x = machine_waveform(machine, {"inner_race": 0.3}, T0, n=N, fs_hz=FS, seed=6)
    f, e = envelope_spectrum(x, (2200.0, 4200.0))
    fd = machine.defect_frequencies(T0)
    fr = machine.shaft_hz_at(T0)
    floor = float(np.median(e[(f > 5) & (f < 500)]))
    for side in (fd.bpfi - fr, fd.bpfi + fr):
        assert e[np.argmin(abs(f - side))] > 5 * floor


def test_a_ball_fault_strikes_at_twice_bsf_modulated_by_the_cage() -> None:
    machine = MACHINES["motor"]
    x = machine_waveform(machine, {"ball": 0.3}, T0, n=N, fs_hz=FS, seed=7)
    f, e = envelope_spectrum(x, (2200.0, 4200.0))
    fd = machine.defect_frequencies(T0)
    assert abs(peak(f, e, 5.0, 500.0) - 2 * fd.bsf) <= BIN
    floor = float(np.median(e[(f > 5) & (f < 500)]))
    assert e[np.argmin(abs(f - fd.bsf))] > 5 * floor, "the alternation leaves a line at BSF"


def test_bearing_wear_raises_kurtosis_and_crest_factor_as_it_grows() -> None:
    machine = MACHINES["motor"]

    def kurtosis(x: npt.NDArray[np.float64]) -> float:
        return float(np.mean((x - x.mean()) ** 4) / np.var(x) ** 2)

    def crest(x: npt.NDArray[np.float64]) -> float:
        return float(np.max(np.abs(x)) / np.sqrt(np.mean(x**2)))

    blocks = {
        s: machine_waveform(machine, {"outer_race": s}, T0, n=N, fs_hz=FS, seed=8) for s in (0, 0.05, 0.3)
    }
    assert kurtosis(blocks[0]) < 3.5
    assert kurtosis(blocks[0.05]) < 3.5, "an incipient spall is buried in the noise"
    assert kurtosis(blocks[0.3]) > 6
    assert crest(blocks[0.3]) > 1.5 * crest(blocks[0])


def test_same_seed_same_block_and_another_seed_another() -> None:
    machine = MACHINES["compressor"]
    a = machine_waveform(machine, {"outer_race": 0.4, "imbalance": 0.2}, 99.0, seed=11, axis="z")
    b = machine_waveform(machine, {"outer_race": 0.4, "imbalance": 0.2}, 99.0, seed=11, axis="z")
    c = machine_waveform(machine, {"outer_race": 0.4, "imbalance": 0.2}, 99.0, seed=12, axis="z")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    t1 = simulate_case(CASES["case"], 86_400, seed=5)
    t2 = simulate_case(CASES["case"], 86_400, seed=5)
    np.testing.assert_array_equal(t1.air_c, t2.air_c)
    assert t1.events == t2.events


def test_unknown_faults_and_axes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown machine fault"):
        machine_waveform(MACHINES["motor"], {"wobble": 0.5}, 0.0)
    with pytest.raises(ValueError, match="axis"):
        machine_waveform(MACHINES["motor"], {}, 0.0, axis="w")


def test_faults_grow_from_onset_to_functional_failure() -> None:
    exp = FaultSpec("outer_race", 10.0, 110.0)
    lin = FaultSpec("imbalance", 10.0, 110.0, growth="linear")
    assert exp.severity(9.9) == lin.severity(9.9) == 0.0
    assert exp.severity(10.0) == pytest.approx(0.05)
    assert exp.severity(110.0) == lin.severity(500.0) == 1.0
    ts = np.linspace(10, 110, 50)
    for spec in (exp, lin):
        values = [spec.severity(t) for t in ts]
        assert values == sorted(values)
    assert exp.severity(60.0) < lin.severity(60.0), "wear is slow first, fast at the end"
    with pytest.raises(ValueError, match="after onset"):
        FaultSpec("ball", 5.0, 5.0)


# -- refrigeration ------------------------------------------------------------------------


def _defrost_period_h(trace_air: npt.NDArray[np.float64], dt_s: float) -> float:
    per_min = (
        trace_air[: len(trace_air) // int(60 / dt_s) * int(60 / dt_s)].reshape(-1, int(60 / dt_s)).mean(1)
    )
    x = per_min - per_min.mean()
    ac = np.correlate(x, x, "full")[len(x) - 1 :]
    lags_h = np.arange(len(ac)) / 60.0
    sel = (lags_h >= 1.0) & (lags_h <= 12.0)
    return float(lags_h[sel][np.argmax(ac[sel])])


@pytest.mark.parametrize(
    ("kind", "period_h"), [("case", 6.0), ("case", 4.0), ("freezer", 8.0), ("freezer", 5.0)]
)
def test_defrost_cycles_appear_at_the_configured_period(kind: str, period_h: float) -> None:
    model = replace(CASES[kind], defrost_interval_s=period_h * 3600)
    trace = simulate_case(model, 4 * 86_400, seed=3)
    starts = [e["t_s"] for e in trace.events if e["event"] == "defrost-start"]
    assert np.allclose(np.diff(starts), period_h * 3600, atol=trace.t_s[1] - trace.t_s[0])
    # the cabinet temperature itself shows the period (what a defrost detector has to find)
    assert _defrost_period_h(trace.air_c, 5.0) == pytest.approx(period_h, abs=5 / 60)
    assert not np.any(trace.compressor & trace.defrost), "the compressor never runs during a defrost"


def test_a_healthy_case_holds_its_band_and_cycles() -> None:
    model = CASES["case"]
    trace = simulate_case(model, 2 * 86_400, seed=1)
    quiet = ~trace.defrost & ~trace.door
    band = model.setpoint_c - model.differential_k, model.setpoint_c + model.differential_k
    inside = (trace.air_c[quiet] > band[0]) & (trace.air_c[quiet] < band[1])
    assert inside.mean() > 0.95
    assert 0.3 < trace.duty_cycle(0, 2 * 86_400) < 0.7
    starts = sum(e["event"] == "compressor-on" for e in trace.events)
    assert 40 < starts / 2 < 150, "cycles per day"


def test_doors_open_only_in_store_hours() -> None:
    trace = simulate_case(CASES["freezer"], 3 * 86_400, seed=2)
    opens = [float(e["t_s"]) for e in trace.events if e["event"] == "door-open"]  # type: ignore[arg-type]
    assert len(opens) > 100
    hours = [(t / 3600) % 24 for t in opens]
    assert all(7.0 <= h < 22.0 for h in hours)


@pytest.mark.parametrize("kind", ["case", "freezer"])
def test_a_refrigerant_leak_lengthens_the_duty_cycle_then_warms_the_cabinet(kind: str) -> None:
    model = CASES[kind]
    leak = FaultSpec("refrigerant_leak", 1 * 86_400, 9 * 86_400)
    trace = simulate_case(model, 10 * 86_400, lambda t: {"refrigerant_leak": leak.severity(t)}, seed=4)
    day = 86_400.0

    def air(d: int) -> float:
        return float(np.mean(trace.air_c[(trace.t_s >= d * day) & (trace.t_s < (d + 1) * day)]))

    duties = [trace.duty_cycle(d * day, (d + 1) * day) for d in range(10)]
    assert duties[6] > duties[0] + 0.1
    assert air(9) > model.setpoint_c + 1.5, "at failure the case cannot hold its setpoint"
    assert abs(air(2) - model.setpoint_c) < 1.0, "early on the thermostat still hides it"


def test_a_failing_condenser_fan_runs_the_condenser_hot() -> None:
    fan = FaultSpec("condenser_fan", 1 * 86_400, 8 * 86_400)
    trace = simulate_case(CASES["case"], 9 * 86_400, lambda t: {"condenser_fan": fan.severity(t)}, seed=5)
    early = trace.cond_c[(trace.t_s < 86_400) & trace.compressor].max()
    late = trace.cond_c[(trace.t_s > 8 * 86_400) & trace.compressor].max()
    assert late > early + 15
    assert trace.duty_cycle(8 * 86_400, 9 * 86_400) > trace.duty_cycle(0, 86_400) + 0.2


def test_an_iced_evaporator_builds_ice_across_defrosts() -> None:
    iced = FaultSpec("iced_evaporator", 1 * 86_400, 8 * 86_400)
    healthy = simulate_case(CASES["freezer"], 9 * 86_400, seed=6)
    trace = simulate_case(
        CASES["freezer"], 9 * 86_400, lambda t: {"iced_evaporator": iced.severity(t)}, seed=6
    )
    late = (7 * 86_400, 8 * 86_400)
    assert trace.duty_cycle(*late) > healthy.duty_cycle(*late) + 0.15

    def coil_dt(t: RefrigerationTrace) -> float:  # air minus coil while running
        sel = (t.t_s > late[0]) & (t.t_s < late[1]) & t.compressor
        return float(np.mean(t.air_c[sel] - t.evap_c[sel]))

    assert coil_dt(trace) > coil_dt(healthy) + 2, "a blocked coil runs colder than the air it cannot reach"


# -- sensor faults --------------------------------------------------------------------------


def _g() -> npt.NDArray[np.float64]:
    return machine_waveform(MACHINES["motor"], {}, 0.0, n=4096, seed=1)


SCALE = 16 / 32768


def test_sensor_faults_on_waveforms() -> None:
    faults = SensorFaults(
        [
            SensorFault("spikes", 0, 10, "vibration"),
            SensorFault("stuck", 10, 20, "vibration"),
            SensorFault("dropout", 20, 30, "vibration"),
            SensorFault("clipping", 30, 40, "vibration", 0.05),
            SensorFault("drift", 40, 200_000, "vibration", 1.0),
        ],
        seed=1,
    )
    g = _g()
    spiky = faults.block(5, "x", g, SCALE)
    assert spiky is not None
    assert np.max(np.abs(spiky[0].astype(float) * spiky[1])) > 5.0
    stuck = faults.block(15, "x", g, SCALE)
    assert stuck is not None
    assert len(set(stuck[0].tolist())) == 1
    assert faults.block(25, "x", g, SCALE) is None
    clipped = faults.block(35, "x", g, SCALE)
    assert clipped is not None
    assert np.sum(np.abs(clipped[0].astype(int)) >= 32767) > 100
    drifted = faults.block(40 + 86_400, "x", g, SCALE)
    assert drifted is not None
    assert float(np.mean(drifted[0]) * drifted[1]) == pytest.approx(1.0, abs=0.01)
    clean = faults.block(39.9, "y", g, SCALE)  # clipping still (until 40), another axis
    assert clean is not None
    healthy = SensorFaults([], seed=1).block(0, "x", g, SCALE)
    assert healthy is not None
    np.testing.assert_array_equal(healthy[0], np.rint(g / SCALE).astype(np.int16))


def test_sensor_faults_on_temperatures() -> None:
    faults = SensorFaults(
        [
            SensorFault("stuck", 100, 200, "temperature"),
            SensorFault("dropout", 200, 300, "all"),
            SensorFault("drift", 300, math.inf, "temperature", 2.0),
            SensorFault("spikes", 0, 50, "vibration"),  # another channel: no effect here
        ],
        seed=2,
    )
    assert faults.scalar(10, "temperature", 4.0) == 4.0
    assert faults.scalar(99, "temperature", 4.5) == 4.5
    assert faults.scalar(150, "temperature", 9.0) == 4.5, "stuck at the last value"
    assert faults.scalar(250, "temperature", 9.0) is None
    assert faults.scalar(300 + 86_400, "temperature", 5.0) == pytest.approx(7.0)


def test_sensor_faults_refuse_what_they_do_not_know() -> None:
    with pytest.raises(ValueError, match="sensor fault"):
        SensorFault("melting", 0, 1)
    with pytest.raises(ValueError, match="channel"):
        SensorFault("stuck", 0, 1, "pressure")
    with pytest.raises(ValueError, match="after onset"):
        SensorFault("stuck", 5, 5)
