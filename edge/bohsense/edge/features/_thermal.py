"""Refrigeration features from a stream of temperature samples (and compressor current).

``TemperatureTrack`` takes one channel's samples in event-time order. Each sample is
checked first (``check`` → a sensor-fault reason or ""): outside ``valid_c``
(``temperature_out_of_range``), not finite (``non_finite``), a jump from the last good
sample of more than ``spike_c`` beyond what ``max_rate_c_s`` allows in the time between
them (``temperature_spike``: no air or product temperature moves that fast), or the same value
for ``stuck_s`` of event time while the sensor should see the compressor cycle
(``temperature_stuck``). A faulty sample feeds no feature.

Good samples feed, per window of ``window_s`` on the event-time grid (emitted when the
first sample of the next window arrives):

- ``mean``, ``min``, ``max``, ``std`` of the temperature;
- ``duty``: the fraction of the window the compressor ran, and ``cycles``: how many
  times it started. With a current channel the compressor runs while the current is at
  least ``current_on_a``; without one, while the temperature falls: the slope of the
  temperature smoothed over ``smooth_s`` (an exponential moving average) below
  ``-slope_c_s`` starts a run, above ``+slope_c_s`` ends it (a dead band against noise);
- defrost: the temperature rises more than ``defrost_rise_c`` above its slow baseline
  (moving average over ``baseline_s``, frozen during a defrost) with the compressor off,
  and stays there at least ``defrost_min_s`` (shorter rises, a door left open, are not
  defrosts); ``defrost`` is 1 from that point and 0 when the temperature is back within
  half the rise, and ``defrost_s`` (the length) is emitted at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["TemperatureTrack", "ThermalConfig"]

_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class ThermalConfig:
    valid_c: tuple[float, float] = (-60.0, 150.0)
    max_rate_c_s: float = 2.0
    spike_c: float = 5.0
    stuck_s: float = 3600.0
    window_s: float = 900.0
    smooth_s: float = 60.0
    slope_c_s: float = 0.0005
    current_on_a: float = 0.5
    defrost_rise_c: float = 4.0
    defrost_min_s: float = 300.0
    baseline_s: float = 7200.0

    def __post_init__(self) -> None:
        lo, hi = self.valid_c
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"valid_c must be [low, high] with low < high, not {self.valid_c}")
        for name in ("max_rate_c_s", "spike_c", "stuck_s", "window_s", "smooth_s", "slope_c_s", "current_on_a",
                     "defrost_rise_c", "defrost_min_s", "baseline_s"):  # fmt: skip
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, not {v}")


@dataclass(slots=True)
class _Window:
    start: int
    n: int = 0
    total: float = 0.0
    squares: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf
    on_ns: int = 0
    span_ns: int = 0
    cycles: int = 0

    def add(self, v: float) -> None:
        self.n += 1
        self.total += v
        self.squares += v * v
        self.lo = min(self.lo, v)
        self.hi = max(self.hi, v)


@dataclass(slots=True)
class TemperatureTrack:
    """One temperature channel's features; ``add`` returns ``{metric suffix: (ts, value)}``."""

    cfg: ThermalConfig
    last_ts: int | None = None
    last_value: float | None = None
    same_since: int | None = None
    smooth: float | None = None
    slope: float = 0.0
    running: bool = False
    current: float | None = None
    baseline: float | None = None
    rise_since: int | None = None
    in_defrost: bool = False
    window: _Window | None = None
    extra: dict[str, float] = field(default_factory=dict)

    def check(self, ts: int, value: float) -> str:
        c = self.cfg
        if not math.isfinite(value):
            return "non_finite"
        if not c.valid_c[0] <= value <= c.valid_c[1]:
            return "temperature_out_of_range"
        if self.last_ts is not None and self.last_value is not None and ts > self.last_ts:
            dt = (ts - self.last_ts) / _S
            if abs(value - self.last_value) > c.max_rate_c_s * dt + c.spike_c:
                return "temperature_spike"
        if (
            value == self.last_value
            and self.same_since is not None
            and ts - self.same_since >= c.stuck_s * _S
        ):
            return "temperature_stuck"
        return ""

    def set_current(self, amps: float) -> None:
        """The compressor current now (A): from here on it decides whether it runs."""
        if math.isfinite(amps):
            self.current = amps

    def add(self, ts: int, value: float) -> dict[str, tuple[int, float]]:
        """Take one good sample (``check`` returned ""); the features it completes."""
        c = self.cfg
        out: dict[str, tuple[int, float]] = {}
        if self.last_value is None or value != self.last_value:
            self.same_since = ts
        prev_ts = self.last_ts
        dt = 0.0 if prev_ts is None or ts <= prev_ts else (ts - prev_ts) / _S
        # the compressor: current if there is one, else the smoothed slope
        if self.smooth is None:
            self.smooth = value
        elif dt > 0:
            alpha = 1.0 - math.exp(-dt / c.smooth_s)
            before = self.smooth
            self.smooth = before + alpha * (value - before)
            self.slope = (self.smooth - before) / dt
        was = self.running
        if self.current is not None:
            self.running = self.current >= c.current_on_a
        elif self.slope < -c.slope_c_s:
            self.running = True
        elif self.slope > c.slope_c_s:
            self.running = False
        # the window on the event-time grid
        wns = int(c.window_s * _S)
        start = ts // wns * wns
        w = self.window
        if w is not None and start > w.start:
            out.update(self._close(w))
            w = None
        if w is None:
            w = self.window = _Window(start)
        elif dt > 0:
            span = ts - prev_ts  # type: ignore[operator]
            w.span_ns += span
            if was:
                w.on_ns += span
        if self.running and not was:
            w.cycles += 1
        w.add(value)
        # defrost against the slow baseline
        if self.baseline is None:
            self.baseline = value
        rise = value - self.baseline
        if not self.in_defrost:
            if rise > c.defrost_rise_c and not self.running:
                if self.rise_since is None:
                    self.rise_since = ts
                elif ts - self.rise_since >= c.defrost_min_s * _S:
                    self.in_defrost = True
                    out["defrost"] = (ts, 1.0)
            else:
                self.rise_since = None
            if not self.in_defrost and dt > 0:
                self.baseline += (1.0 - math.exp(-dt / c.baseline_s)) * (value - self.baseline)
        elif rise < c.defrost_rise_c / 2:
            self.in_defrost = False
            out["defrost"] = (ts, 0.0)
            if self.rise_since is not None:
                out["defrost_s"] = (ts, (ts - self.rise_since) / _S)
            self.rise_since = None
        self.last_ts, self.last_value = ts, value
        return out

    def _close(self, w: _Window) -> dict[str, tuple[int, float]]:
        ts = w.start
        mean = w.total / w.n
        var = max(0.0, w.squares / w.n - mean * mean)
        out = {
            "mean": (ts, mean),
            "min": (ts, w.lo),
            "max": (ts, w.hi),
            "std": (ts, math.sqrt(var)),
            "cycles": (ts, float(w.cycles)),
        }
        if w.span_ns > 0:
            out["duty"] = (ts, w.on_ns / w.span_ns)
        return out
