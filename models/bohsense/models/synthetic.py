"""Generators of test data with known ground truth (seeded, no files).

* :func:`anomaly_series`: one sensor series with injected spikes, level shifts, variance
  changes and stuck periods, on one of several base processes, at an arbitrary scale,
  offset and sampling interval;
* :func:`bearing_signal`: an accelerometer waveform of a rolling bearing with a chosen
  defect (impacts at the defect frequency exciting a structural resonance) or shaft
  fault (imbalance, misalignment, looseness);
* :func:`degradation_fleet`: a run-to-failure table of units whose sensors drift with
  an exponential health index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["AnomalyEvent", "Series", "anomaly_series", "bearing_signal", "degradation_fleet"]

BASES = ("white", "ar1", "random_walk", "seasonal", "counts", "quantized")
KINDS = ("spike", "level", "variance", "stuck")


@dataclass(frozen=True, slots=True)
class AnomalyEvent:
    kind: str
    start: int
    end: int  # exclusive
    magnitude: float  # in units of the base's noise sigma (stuck: 0)


@dataclass(frozen=True, slots=True)
class Series:
    base: str
    timestamps: np.ndarray  # seconds since the epoch
    values: np.ndarray
    events: tuple[AnomalyEvent, ...]


def _base(rng: np.random.Generator, base: str, n: int) -> tuple[np.ndarray, float]:
    """A base process of length n and its noise sigma (the unit of anomaly sizes)."""
    e = rng.standard_normal(n)
    if base == "white":
        return e, 1.0
    if base == "ar1":
        phi = rng.uniform(0.5, 0.95)
        x = np.empty(n)
        x[0] = e[0]
        for i in range(1, n):
            x[i] = phi * x[i - 1] + e[i]
        return x, 1.0
    if base == "random_walk":
        return np.cumsum(e * 0.3) + e, 1.0
    if base == "seasonal":
        period = rng.uniform(50, 400)
        amp = rng.uniform(2, 8)
        t = np.arange(n)
        return amp * np.sin(2 * math.pi * t / period + rng.uniform(0, 6.3)) + e, 1.0
    if base == "counts":
        lam = rng.uniform(3, 30)
        return rng.poisson(lam, n).astype(float), math.sqrt(lam)
    if base == "quantized":
        # a slow process read through a coarse ADC: many exact repeats are normal
        x = np.empty(n)
        x[0] = 0.0
        for i in range(1, n):
            x[i] = 0.98 * x[i - 1] + 0.2 * e[i]
        return np.round(x * 2.0) / 2.0 + 0.0, 0.5
    raise ValueError(f"unknown base {base!r}")


def anomaly_series(
    seed: int,
    n: int = 4000,
    *,
    base: str | None = None,
    events: int = 6,
    scale: float | None = None,
) -> Series:
    """A series with ``events`` anomalies, spaced so each has clean data before it."""
    rng = np.random.default_rng(seed)
    base = base or BASES[int(rng.integers(len(BASES)))]
    x, sigma = _base(rng, base, n)
    x = x.astype(float)
    gap = n // (events + 1)
    out: list[AnomalyEvent] = []
    for k in range(events):
        kind = KINDS[int(rng.integers(len(KINDS)))]
        start = gap * (k + 1) + int(rng.integers(-gap // 4, gap // 4))
        if kind == "spike":
            mag = float(rng.uniform(6, 15))
            x[start] += mag * sigma * rng.choice([-1.0, 1.0])
            end = start + 1
        elif kind == "level":
            mag = float(rng.uniform(3, 8))
            end = min(n, start + int(rng.integers(gap // 3, gap // 2)))
            x[start:end] += mag * sigma * rng.choice([-1.0, 1.0])
        elif kind == "variance":
            mag = float(rng.uniform(3, 6))
            end = min(n, start + int(rng.integers(gap // 3, gap // 2)))
            x[start:end] += (mag - 1) * sigma * rng.standard_normal(end - start)
        else:
            mag = 0.0
            end = min(n, start + int(rng.integers(20, 100)))
            x[start:end] = x[start - 1]
        out.append(AnomalyEvent(kind, start, end, mag))
    scale = scale if scale is not None else float(10 ** rng.uniform(-3, 4))
    offset = float(rng.normal(0, 100)) * scale
    values = x * scale + offset
    if base == "counts":
        values = np.round(x) * max(1.0, round(scale))  # counts stay integer
    dt = float(10 ** rng.uniform(-1, 3))
    t0 = float(rng.uniform(1.6e9, 1.8e9))
    return Series(base, t0 + dt * np.arange(n), values, tuple(out))


# -- vibration ---------------------------------------------------------------------------
def bearing_signal(
    fault: str,
    *,
    fs: float,
    rpm: float,
    geometry: tuple[int, float, float, float],
    seconds: float = 1.0,
    seed: int = 0,
    resonance: float | None = None,
) -> np.ndarray:
    """Acceleration (g) of a machine with one fault: ``normal``, ``inner_race``,
    ``outer_race``, ``ball`` (periodic impacts ringing a resonance, modulated as the
    defect passes the load zone), or ``imbalance``, ``misalignment``, ``looseness``
    (shaft-speed harmonics)."""
    from bohsense.models.vibration import defect_frequencies

    rng = np.random.default_rng(seed)
    n = int(fs * seconds)
    t = np.arange(n) / fs
    fr = rpm / 60.0
    x = 0.05 * rng.standard_normal(n) + 0.02 * np.sin(2 * math.pi * fr * t)
    f = defect_frequencies(rpm, *geometry)
    res = resonance or min(0.3 * fs, 3500.0)
    if fault in ("inner_race", "outer_race", "ball"):
        rate = {"inner_race": f["bpfi"], "outer_race": f["bpfo"], "ball": 2 * f["bsf"]}[fault]
        mod = {"inner_race": fr, "outer_race": 0.0, "ball": f["ftf"]}[fault]
        ring = np.exp(-np.arange(int(fs * 0.004)) * 1800.0 / fs) * np.sin(
            2 * math.pi * res * np.arange(int(fs * 0.004)) / fs
        )
        impulses = np.zeros(n)
        times = np.arange(0.0, seconds, 1.0 / rate)
        times = times + rng.normal(0, 0.01 / rate, times.size)  # slip
        for ti in times:
            i = int(ti * fs)
            if 0 <= i < n:
                amp = 1.0 if mod == 0 else 0.6 + 0.4 * math.cos(2 * math.pi * mod * ti)
                impulses[i] += amp * (0.8 + 0.2 * rng.random())
        x += 0.8 * np.convolve(impulses, ring)[:n]
    elif fault == "imbalance":
        x += 0.5 * np.sin(2 * math.pi * fr * t + 0.3)
    elif fault == "misalignment":
        x += 0.15 * np.sin(2 * math.pi * fr * t) + 0.4 * np.sin(2 * math.pi * 2 * fr * t + 1.0)
    elif fault == "looseness":
        for k in range(1, 11):
            x += 0.12 * np.sin(2 * math.pi * k * fr * t + rng.uniform(0, 6.3))
        for sub in (0.5, 1.5, 2.5):
            x += 0.06 * np.sin(2 * math.pi * sub * fr * t + rng.uniform(0, 6.3))
    elif fault != "normal":
        raise ValueError(f"unknown fault {fault!r}")
    return x


# -- run to failure ------------------------------------------------------------------------
def degradation_fleet(seed: int, units: int = 30, *, sensors: int = 6, conditions: int = 1) -> np.ndarray:
    """Rows ``unit, cycle, setting, s1..s<sensors>, constant``: each unit's sensors drift
    with a health index ``exp(a*cycle)`` until it crosses a failure level. The sensors'
    response to wear is the same in every fleet (one machine type); lives, offsets and
    noise come from ``seed``. With ``conditions`` > 1 each cycle runs at one of that many
    operating conditions (the setting column), which shifts and scales every sensor far
    more than wear does."""
    rng = np.random.default_rng(seed)
    rows = []
    design = np.random.default_rng(12345)  # one machine type: how each sensor responds to wear
    weights = design.uniform(0.5, 2.0, sensors) * design.choice([-1, 1], sensors)
    shift = design.uniform(-30, 30, (max(conditions, 1), sensors))
    gain = design.uniform(0.5, 2.0, (max(conditions, 1), sensors))
    if conditions <= 1:
        shift[:] = 0.0
        gain[:] = 1.0
    for u in range(1, units + 1):
        life = int(rng.integers(120, 300))
        a = math.log(20.0) / life
        offset = rng.normal(0, 0.2, sensors)
        for c in range(1, life + 1):
            h = math.exp(a * c) - 1.0  # 0 .. 19
            k = int(rng.integers(max(conditions, 1)))
            s = 10 + offset + weights * 0.15 * h + rng.normal(0, 0.3, sensors)
            s = shift[k] + gain[k] * s
            setting = (10.0 * k if conditions > 1 else 0.0) + rng.normal(0, 0.002)
            rows.append([u, c, setting, *s, 100.0])
    return np.array(rows)
