"""Shelf lane weight → units, only when the weight is stable.

A lane's units are ``round((weight - tare) / unit_weight)`` clamped at 0, computed from
the mean of a window of samples and emitted only when

- the window covers ``window_s`` of device time (at least 3 samples), and
- every sample in it lies within ``tolerance_g`` of every other (max − min), so the
  ringing after a pick, a hand pressing or resting on the lane are not counted, and
- the mean is within ``max_residual`` units of a whole number (a basket or a hand that
  happens to hold still adds a weight that is rarely a whole number of units).

A stable value is emitted when it differs from the last one emitted, or when
``heartbeat_s`` has passed since (so a consumer sees the lane is alive).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["LaneConfig", "LaneEstimator", "StabilityConfig"]


@dataclass(frozen=True, slots=True)
class LaneConfig:
    unit_weight_g: float | None = None
    tare_g: float = 0.0


@dataclass(frozen=True, slots=True)
class StabilityConfig:
    window_s: float = 0.5
    tolerance_g: float = 15.0
    max_residual: float = 0.3
    heartbeat_s: float = 30.0


class LaneEstimator:
    def __init__(self, lane: LaneConfig, stability: StabilityConfig) -> None:
        self.lane = lane
        self.cfg = stability
        self._window: deque[tuple[int, float]] = deque()
        self._last_units: int | None = None
        self._last_emit_ns = 0
        self.unstable = 0
        self.implausible = 0

    def net(self, gross_g: float) -> float:
        return gross_g - self.lane.tare_g

    def add(self, ts_ns: int, gross_g: float) -> int | None:
        """Add one sample; the units to emit at ``ts_ns``, or None."""
        unit = self.lane.unit_weight_g
        if unit is None:
            return None
        window = self._window
        window.append((ts_ns, gross_g))
        horizon = ts_ns - int(self.cfg.window_s * 1e9)
        while len(window) > 1 and window[1][0] <= horizon:
            window.popleft()
        if len(window) < 3 or window[0][0] > horizon:
            return None
        values = [w for _, w in window]
        if max(values) - min(values) > self.cfg.tolerance_g:
            self.unstable += 1
            return None
        x = self.net(sum(values) / len(values)) / unit
        units = max(0, round(x))
        if x > -self.cfg.max_residual and abs(x - round(x)) > self.cfg.max_residual:
            self.implausible += 1
            return None
        if units == self._last_units and ts_ns - self._last_emit_ns < self.cfg.heartbeat_s * 1e9:
            return None
        self._last_units = units
        self._last_emit_ns = ts_ns
        return units
