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

The lane's ``offset_g`` is what is subtracted from the device's reading: the configured
``tare_g`` until a TARE the device acknowledged moves it (``after_tare``): the device
then reads the present load as 0, so the offset becomes 0 (a plain tare: the present
load is the lane's new empty) or minus the net weight the lane held (a forced
re-baseline: weight and units carry on as they were).
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
        self.offset_g = lane.tare_g
        self._last_units: int | None = None
        self._last_gross: float | None = None
        self._last_emit_ns = 0
        self.unstable = 0
        self.implausible = 0

    @property
    def counts_units(self) -> bool:
        return self.lane.unit_weight_g is not None

    @property
    def units(self) -> int | None:
        """The last settled units count, or None (no unit weight, or not settled yet)."""
        return self._last_units

    def net(self, gross_g: float) -> float:
        return gross_g - self.offset_g

    def after_tare(self, keep: bool) -> float:
        """The device zeroed the lane: move the offset (see the module doc); return it."""
        window = self._window
        gross = sum(w for _, w in window) / len(window) if window else self._last_gross
        if keep and gross is not None:
            self.offset_g = self.offset_g - gross
        else:
            self.offset_g = 0.0
        window.clear()  # samples from before the tare are on the old zero
        return self.offset_g

    def add(self, ts_ns: int, gross_g: float) -> int | None:
        """Add one sample; the units to emit at ``ts_ns``, or None."""
        self._last_gross = gross_g
        unit = self.lane.unit_weight_g
        window = self._window
        window.append((ts_ns, gross_g))
        horizon = ts_ns - int(self.cfg.window_s * 1e9)
        while len(window) > 1 and window[1][0] <= horizon:
            window.popleft()
        if unit is None or len(window) < 3 or window[0][0] > horizon:
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
