"""Every packaged condition scenario, played whole: each injected fault becomes visible to a
simple indicator that knows where to look (the fault's own line, the refrigeration duty
cycle) after its onset and before its functional failure, and never before the onset.
This is no detector (it is told the fault and its frequency): it shows what the
simulator puts into the data. The figures printed are those in docs/simulators.md."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from bohsense.simulators import BEARING_FAULTS, ConditionScenario, packaged_scenarios

DAY = 86_400.0


def _line(x: npt.NDArray[np.float64], fs: float, hz: float) -> float:
    spec = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(len(x))))
    f = np.fft.rfftfreq(len(x), 1 / fs)
    i = int(np.argmin(np.abs(f - hz)))
    return float(spec[max(0, i - 1) : i + 2].max())


def _envelope_snr(x: npt.NDArray[np.float64], fs: float, band: tuple[float, float], hz: float) -> float:
    spec = np.fft.fft(x)
    freqs = np.fft.fftfreq(len(x), 1 / fs)
    env = np.abs(np.fft.ifft(np.where((freqs > band[0]) & (freqs < band[1]), 2 * spec, 0)))
    es = np.abs(np.fft.rfft((env - env.mean()) * np.hanning(len(env))))
    f = np.fft.rfftfreq(len(env), 1 / fs)
    i = int(np.argmin(np.abs(f - hz)))
    floor = float(np.median(es[(f > 5) & (f < 1000)]))
    return float(es[max(0, i - 1) : i + 2].max()) / floor


def _indicator(scenario: ConditionScenario, kind: str, t: float) -> float:
    m, s = scenario.machine, scenario.sensor
    if kind in BEARING_FAULTS:
        hz = getattr(m.defect_frequencies(t), BEARING_FAULTS[kind]) * (2 if kind == "ball" else 1)
        x = scenario.waveform(t, "x")
        return _envelope_snr(x, s.fs_hz, (0.7 * m.resonance_hz, 1.3 * m.resonance_hz), hz)
    fr = m.shaft_hz_at(t)
    if kind == "imbalance":
        return _line(scenario.waveform(t, "x"), s.fs_hz, fr)
    if kind == "misalignment":
        return _line(scenario.waveform(t, "z"), s.fs_hz, 2 * fr)
    y = scenario.waveform(t, "y")
    return float(np.mean([_line(y, s.fs_hz, k * fr) for k in np.arange(1.5, 10.5, 1.0)]))  # half-harmonics


MACHINE_SCENARIOS = [n for n in packaged_scenarios() if not any(k in n for k in ("case", "freezer"))]


@pytest.mark.long
@pytest.mark.parametrize("name", MACHINE_SCENARIOS)
def test_every_machine_fault_shows_between_onset_and_failure(name: str) -> None:
    scenario = ConditionScenario.load(name)
    every = 6 * 3600.0
    times = np.arange(0.0, scenario.duration_s, every)
    for fault in scenario.faults:
        values = np.array([_indicator(scenario, fault.kind, float(t)) for t in times])
        healthy = values[times < min(fault.onset_s, 2 * DAY)] if fault.onset_s > 0 else values[:1]
        threshold = 3.0 * float(np.max(healthy))
        above = times[(values > threshold) & (times >= fault.onset_s)]
        assert not np.any((values > threshold) & (times < fault.onset_s)), "nothing before the onset"
        assert above.size, f"{fault.kind} never showed"
        first = float(above[0])
        assert first < fault.failure_s
        lead = (fault.failure_s - first) / DAY
        print(
            f"{name}: {fault.kind} onset day {fault.onset_s / DAY:g}, failure day {fault.failure_s / DAY:g}, "
            f"3x its healthy level from day {first / DAY:.2f} ({lead:.1f} days before failure)"
        )
    if not scenario.faults:  # the sensor-fault scenario: the true signal stays healthy throughout
        assert all(scenario.severity(float(t)) == {} for t in times)


CASE_SCENARIOS = [n for n in packaged_scenarios() if any(k in n for k in ("case", "freezer"))]


@pytest.mark.long
@pytest.mark.parametrize("name", CASE_SCENARIOS)
def test_every_refrigeration_fault_lengthens_the_duty_cycle_before_failure(name: str) -> None:
    scenario = ConditionScenario.load(name)
    (fault,) = scenario.faults
    days = int(scenario.duration_s / DAY)
    duty, air = [], []
    for d in range(days):
        on = samples = 0
        temps = []
        for t in np.arange(d * DAY, (d + 1) * DAY, 60.0):
            state = scenario.case_state(float(t))
            assert state is not None
            on += state.compressor
            samples += 1
            temps.append(state.air_c)
        duty.append(on / samples)
        air.append(float(np.mean(temps)))
    base = float(np.mean(duty[: max(1, int(fault.onset_s / DAY))]))
    onset_day = int(fault.onset_s / DAY)
    assert all(v < base + 0.05 for v in duty[:onset_day])
    first = next(d for d, v in enumerate(duty) if v > base + 0.1)
    assert onset_day <= first < fault.failure_s / DAY
    warm = next((d for d, t in enumerate(air) if t > scenario.case.setpoint_c + 2), math.inf)  # type: ignore[union-attr]
    print(
        f"{name}: {fault.kind} onset day {onset_day}, failure day {fault.failure_s / DAY:g}; duty cycle "
        f"{base:.2f} healthy, +0.1 from day {first} ({fault.failure_s / DAY - first:.0f} days before failure); "
        f"daily mean air 2 K above setpoint from day {warm}"
    )
