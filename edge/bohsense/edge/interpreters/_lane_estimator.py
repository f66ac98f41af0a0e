"""One shelf lane: load-cell samples → a settled units count, its changes and its condition.

The estimator keeps a window of the lane's samples (``window_s`` of device time) and
decides, sample by sample, what the window shows (a *signal*):

=================  ==========================================================================
signal             when
=================  ==========================================================================
``fit``            the window is steady (max − min ≤ ``tolerance_g``) and its mean net weight
                   is a whole number ``n`` of unit weights within ``tolerance_units(n)``, and
                   the change from the last settled count is itself a whole number of units
``unfit``          steady, but on a weight that fits no whole number (reason ``unfit_weight``),
                   or the change from the last count does not (``unfit_change``), or the
                   weight is below zero by more than the tolerance (``negative_weight``)
``moving``         the window is not steady (a hand, a grab, the ringing after a pick)
``dead``           the channel has carried no valid value (NaN) for ``dead_after_s``
``stuck``          the channel has repeated exactly the same value for ``stuck_s`` (a live
                   load cell always shows some noise in its last bits)
``out_of_range``   the weight has been beyond ``max_g`` or below zero by more than
                   ``negative_limit_g`` (the platter lifted off, the zero lost) for ``range_s``
``detached``       the device's connection was lost
=================  ==========================================================================

What the lane reports — its *condition*, a ``shelf.lane_state`` event at each change — is
the table ``CONDITION_OF`` below: ``stable`` and ``fault`` are reported at once, ``unfit``
only once it has held for ``unfit_report_s`` and ``settling`` once it has held for
``settling_report_s`` (a pick settles in about a second and is no state worth sending).
``units`` readings and pick / put-back / restock steps are made only by a ``fit`` window;
in every other condition the count is withheld, never guessed. A fault clears when the
lane is ``stable`` again (the window is emptied when the fault ends, so no sample from
the faulty stretch is counted); the last settled count survives a fault, a detach and a
reboot, so a change made meanwhile is reported once the lane settles again.

Integer snapping is tolerant of unit-weight spread: real units of one SKU differ by a few
per cent, so ``n`` units have a spread of about ``σ·√n`` unit weights (σ = ``unit_spread``
/ √3 for a spread uniform in ±``unit_spread``). ``tolerance_units(n)`` is three such
standard deviations plus the zero uncertainty (``zero_tolerance_g``) and three standard
errors of the window's mean, capped at ``max_residual``. A change of ``k`` units must fit
within the tolerance of ``k`` (its own units' spread); one that does not is ``unfit_change``
until it has held for ``relearn_s``, when the count is accepted (with its lower confidence);
its zero allowance is what the zero can move between the two windows (3 g, and 10 g an
hour between them, at most ``zero_tolerance_g``), not the whole ``zero_tolerance_g``.

A lane whose changes stop being whole units — ``_MISMATCH_UNFIT`` of the last
``_MISMATCH_OF`` changes between steady windows were not — has the wrong unit weight (its
SKU was changed without recalibration: the picks of the new SKU are fractions of the old
unit weight, and its totals fit a whole number only by chance): it stays ``unfit``
(``unit_weight_mismatch``) whatever the weight, until a tare, or until the last
``_MISMATCH_OF`` changes were all whole units again.

Drift: while the lane is stable at 0 units and reads within ``zero_tolerance_g`` of zero,
the offset follows the reading slowly (zero tracking, ``zero_track_rate`` per sample);
``drift_g`` is how far it has moved so far, and ``residual_g`` is the last settled weight
minus its whole number of units (how far from a whole count the lane sits).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CONDITION_OF",
    "Condition",
    "LaneConfig",
    "LaneEstimator",
    "LaneStateChange",
    "LaneStep",
    "LaneUpdate",
    "Signal",
    "StabilityConfig",
    "change_confidence",
]


#: how far the zero may move between two settled windows, whatever their distance, and per
#: second between them (creep and temperature: a few grams an hour)
_CHANGE_ZERO_G = 3.0
_CHANGE_DRIFT_G_PER_S = 10.0 / 3600.0


#: the unit weight is taken for wrong when this many of the last ``_MISMATCH_OF`` changes
#: between steady windows were no whole number of units (a SKU changed without
#: recalibration: every pick of the new SKU is a fraction of the old unit weight), and right
#: again when all of them were
_MISMATCH_UNFIT = 3
_MISMATCH_OF = 4


class Condition(StrEnum):
    STABLE = "stable"
    SETTLING = "settling"
    UNFIT = "unfit"
    FAULT = "fault"


class Signal(StrEnum):
    FIT = "fit"
    UNFIT = "unfit"
    MOVING = "moving"
    DEAD = "dead"
    STUCK = "stuck"
    OUT_OF_RANGE = "out_of_range"
    DETACHED = "detached"


#: what each signal makes the lane's condition, and which hold time (a ``StabilityConfig``
#: field, or None: at once) it must last before it is reported
CONDITION_OF: dict[Signal, tuple[Condition, str | None]] = {
    Signal.FIT: (Condition.STABLE, None),
    Signal.UNFIT: (Condition.UNFIT, "unfit_report_s"),
    Signal.MOVING: (Condition.SETTLING, "settling_report_s"),
    Signal.DEAD: (Condition.FAULT, None),
    Signal.STUCK: (Condition.FAULT, None),
    Signal.OUT_OF_RANGE: (Condition.FAULT, None),
    Signal.DETACHED: (Condition.FAULT, None),
}


@dataclass(frozen=True, slots=True)
class LaneConfig:
    unit_weight_g: float | None = None
    tare_g: float = 0.0
    #: the SKU's unit-weight spread, a fraction: units weigh within ±unit_spread of unit_weight_g
    unit_spread: float = 0.03


@dataclass(frozen=True, slots=True)
class StabilityConfig:
    window_s: float = 0.5
    tolerance_g: float = 15.0
    max_residual: float = 0.3
    heartbeat_s: float = 30.0
    zero_tolerance_g: float = 15.0
    settling_report_s: float = 3.0
    unfit_report_s: float = 1.0
    relearn_s: float = 60.0
    dead_after_s: float = 0.3
    stuck_s: float = 4.0
    range_s: float = 1.0
    max_g: float = 100_000.0
    negative_limit_g: float = 100.0
    restock_min_units: int = 4
    zero_track_rate: float = 0.01


@dataclass(frozen=True, slots=True)
class LaneStep:
    """The settled count moved from ``units_before`` to ``units_after``."""

    units_before: int
    units_after: int
    weight_delta_g: float
    #: the larger max − min of the two settled windows (grams)
    noise_g: float


@dataclass(frozen=True, slots=True)
class LaneStateChange:
    """The lane's reported condition changed (a ``shelf.lane_state``)."""

    condition: Condition
    reason: str
    units: int | None
    weight_g: float | None
    confidence: float


@dataclass(frozen=True, slots=True)
class LaneUpdate:
    #: the units to emit as a reading, or None
    units: int | None = None
    #: the settled count changed, or None
    step: LaneStep | None = None
    #: the reported condition changed, or None
    state: LaneStateChange | None = None


def change_confidence(weight_delta_g: float, units: int, unit_weight_g: float, noise_g: float) -> float:
    """How sure a settled change of ``weight_delta_g`` is ``units`` whole items, in [0, 1].

    ``closeness`` is 1 when the change is exactly ``units`` unit weights and falls to 0
    half a unit away; ``quiet`` is 1 for noise-free windows and falls to 0 when the
    windows' spread reaches one unit weight. The confidence is their product, to 3 places.
    """
    if units < 1 or not unit_weight_g > 0:
        return 0.0
    x = abs(weight_delta_g) / unit_weight_g
    closeness = max(0.0, 1.0 - abs(x - units) / 0.5)
    quiet = max(0.0, 1.0 - max(0.0, noise_g) / unit_weight_g)
    return round(min(1.0, closeness * quiet), 3)


class LaneEstimator:
    def __init__(self, lane: LaneConfig, stability: StabilityConfig) -> None:
        self.lane = lane
        self.cfg = stability
        self._window: deque[tuple[int, float]] = deque()
        self.offset_g = lane.tare_g
        self._last_units: int | None = None
        self._last_gross: float | None = None
        self._last_emit_ns = 0
        #: the last settled state: (units, net mean g, window spread g, standard error of the mean g)
        self.settled: tuple[int, float, float, float] | None = None
        #: the reported condition and its reason (None: nothing reported yet)
        self.condition: Condition | None = None
        self.reason = ""
        self._candidate: tuple[Condition, str] | None = None
        self._candidate_since = 0
        self._invalid_since: int | None = None
        self._same_value: float | None = None
        self._same_since = 0
        self._range_since: int | None = None
        self._unfit_change_since: int | None = None
        self._settled_ns = 0
        #: the net mean of the last steady window (fitting or not), and whether each of the
        #: last changes between steady windows was a whole number of units
        self._steady_mean: float | None = None
        self._change_fits: deque[bool] = deque(maxlen=_MISMATCH_OF)
        #: the lane's changes stopped being whole units: its unit weight is wrong
        self.mismatch = False
        self.drift_g = 0.0
        self.residual_g = 0.0
        self.unstable = 0
        self.implausible = 0
        self.faults = 0

    @property
    def counts_units(self) -> bool:
        return self.lane.unit_weight_g is not None

    @property
    def units(self) -> int | None:
        """The last emitted units count, or None (no unit weight, or not settled yet)."""
        return self._last_units

    def net(self, gross_g: float) -> float:
        return gross_g - self.offset_g

    def tolerance_units(self, units: int, sem_g: float = 0.0) -> float:
        """How far (in units) a weight of ``units`` whole units may sit from ``units``."""
        unit = self.lane.unit_weight_g
        if unit is None:
            return 0.0
        sigma = self.lane.unit_spread / math.sqrt(3.0)
        tol = (self.cfg.zero_tolerance_g + 3.0 * sem_g) / unit + 3.0 * sigma * math.sqrt(max(units, 1))
        return min(self.cfg.max_residual, tol)

    def carry_over(self, before: LaneEstimator) -> None:
        """The same lane after its device attached again: keep its count and condition."""
        self.settled = before.settled
        self._settled_ns = before._settled_ns
        self.condition = before.condition
        self.reason = before.reason
        self.drift_g = before.drift_g
        self.offset_g = before.offset_g
        self._steady_mean = before._steady_mean
        self._change_fits = before._change_fits
        self.mismatch = before.mismatch

    def after_tare(self, keep: bool) -> float:
        """The device zeroed the lane: move the offset (see the module doc); return it."""
        window = self._window
        gross = sum(w for _, w in window) / len(window) if window else self._last_gross
        if keep and gross is not None:
            self.offset_g = self.offset_g - gross
        else:
            self.offset_g = 0.0
        window.clear()  # samples from before the tare are on the old zero
        self._same_value = None
        self._steady_mean = None  # someone saw to the lane: its changes are judged afresh
        self._change_fits.clear()
        self.mismatch = False
        return self.offset_g

    def add(self, ts_ns: int, gross_g: float) -> int | None:
        """Add one sample; the units to emit at ``ts_ns``, or None."""
        return self.step(ts_ns, gross_g).units

    # -- signals ------------------------------------------------------------------------

    def _report(self, ts: int, signal: Signal, reason: str, units: int | None = None,
                weight: float | None = None, confidence: float = 1.0) -> LaneStateChange | None:  # fmt: skip
        condition, hold_name = CONDITION_OF[signal]
        if condition is Condition.STABLE:
            reason = ""
        if condition is self.condition and reason == self.reason:
            self._candidate = None
            return None
        if self._candidate != (condition, reason):
            self._candidate = (condition, reason)
            self._candidate_since = ts
        hold = 0.0 if hold_name is None else float(getattr(self.cfg, hold_name))
        if ts - self._candidate_since < hold * 1e9:
            return None
        self._candidate = None
        if condition is Condition.FAULT:
            self.faults += 1
        if self.condition is Condition.FAULT:
            self._window.clear()  # nothing from the faulty stretch is counted
        self.condition, self.reason = condition, reason
        return LaneStateChange(
            condition,
            reason,
            units if condition is Condition.STABLE else None,
            None if weight is None else round(weight, 3),
            confidence,
        )

    def _track_changes(self, mean: float, unit: float, sem: float) -> None:
        """Note whether the change from the last steady window, if any, is whole units."""
        before = self._steady_mean
        if before is not None and abs(mean - before) <= 0.5 * unit:
            return
        self._steady_mean = mean
        if before is None:
            return
        dx = abs(mean - before) / unit
        k = round(dx)
        tol_k = (_CHANGE_ZERO_G + 6.0 * sem) / unit + 3.0 * self.lane.unit_spread / math.sqrt(
            3.0
        ) * math.sqrt(k)
        self._change_fits.append(abs(dx - k) <= min(self.cfg.max_residual, tol_k))
        misses = sum(not fits for fits in self._change_fits)
        if not self.mismatch and misses >= _MISMATCH_UNFIT:
            self.mismatch = True
        elif self.mismatch and misses == 0 and len(self._change_fits) == _MISMATCH_OF:
            self.mismatch = False

    def invalid(self, ts_ns: int) -> LaneUpdate:
        """The channel carried no valid value at ``ts_ns``."""
        if self._invalid_since is None:
            self._invalid_since = ts_ns
        if ts_ns - self._invalid_since >= self.cfg.dead_after_s * 1e9:
            return LaneUpdate(state=self._report(ts_ns, Signal.DEAD, "dead"))
        return LaneUpdate()

    def detached(self, ts_ns: int) -> LaneUpdate:
        """The device's connection was lost: counts stop until the lane is stable again."""
        self._window.clear()
        self._invalid_since = None
        self._same_value = None
        self._range_since = None
        return LaneUpdate(state=self._report(ts_ns, Signal.DETACHED, "detached"))

    def rebooted(self, ts_ns: int) -> LaneUpdate:
        """The device announced itself again on a live connection (a reboot)."""
        self._window.clear()
        self._same_value = None
        if self.condition is None or self.condition is Condition.FAULT:
            return LaneUpdate()  # nothing reported yet, or a fault that only a settled count clears
        self.condition, self.reason = Condition.SETTLING, "rebooted"
        weight = self.settled[1] if self.settled else None
        return LaneUpdate(state=LaneStateChange(Condition.SETTLING, "rebooted", None, weight, 1.0))

    def step(self, ts_ns: int, gross_g: float) -> LaneUpdate:
        """Add one sample; the units to emit, the settled change and the condition change."""
        cfg = self.cfg
        if self._invalid_since is not None and self.condition is Condition.FAULT:
            self._window.clear()  # back from dead: start a fresh window
        self._invalid_since = None
        self._last_gross = gross_g
        if gross_g != self._same_value:
            if self._same_value is not None and ts_ns - self._same_since >= cfg.stuck_s * 1e9:
                self._window.clear()  # the end of a stuck run: none of it is counted
            self._same_value = gross_g
            self._same_since = ts_ns
        window = self._window
        window.append((ts_ns, gross_g))
        horizon = ts_ns - int(cfg.window_s * 1e9)
        while len(window) > 1 and window[1][0] <= horizon:
            window.popleft()
        unit = self.lane.unit_weight_g
        if unit is None:
            return LaneUpdate()
        if ts_ns - self._same_since >= cfg.stuck_s * 1e9:
            return LaneUpdate(state=self._report(ts_ns, Signal.STUCK, "stuck"))
        net_now = self.net(gross_g)
        if abs(gross_g) > cfg.max_g or net_now < -max(cfg.negative_limit_g, 0.5 * unit):
            if self._range_since is None:
                self._range_since = ts_ns
            if ts_ns - self._range_since >= cfg.range_s * 1e9:
                return LaneUpdate(state=self._report(ts_ns, Signal.OUT_OF_RANGE, "out_of_range"))
        else:
            self._range_since = None
        if len(window) < 3 or window[0][0] > horizon:
            return LaneUpdate()
        values = [w for _, w in window]
        spread = max(values) - min(values)
        if spread > cfg.tolerance_g:
            self.unstable += 1
            return LaneUpdate(state=self._report(ts_ns, Signal.MOVING, "moving"))
        count = len(values)
        gross_mean = sum(values) / count
        sem = math.sqrt(sum((v - gross_mean) ** 2 for v in values) / (count - 1) / count)
        mean = self.net(gross_mean)
        self._track_changes(mean, unit, sem)
        if self.mismatch:
            self.implausible += 1
            return LaneUpdate(state=self._report(ts_ns, Signal.UNFIT, "unit_weight_mismatch", weight=mean))
        x = mean / unit
        units = max(0, round(x))
        tol = self.tolerance_units(units, sem)
        if x < -tol:
            self.implausible += 1
            return LaneUpdate(state=self._report(ts_ns, Signal.UNFIT, "negative_weight", weight=mean))
        if abs(x - units) > tol:
            self.implausible += 1
            return LaneUpdate(state=self._report(ts_ns, Signal.UNFIT, "unfit_weight", weight=mean))
        step = None
        if self.settled is not None and self.settled[0] != units:
            before, before_mean, before_spread, before_sem = self.settled
            k = abs(units - before)
            dx = abs(mean - before_mean) / unit
            # the zero moves little between two settled windows: creep and temperature
            zero_g = min(
                cfg.zero_tolerance_g,
                _CHANGE_ZERO_G + _CHANGE_DRIFT_G_PER_S * (ts_ns - self._settled_ns) / 1e9,
            )
            tol_k = (zero_g + 3.0 * (sem + before_sem)) / unit + 3.0 * (
                self.lane.unit_spread / math.sqrt(3.0)
            ) * math.sqrt(k)
            if abs(dx - k) > min(cfg.max_residual, tol_k):
                if self._unfit_change_since is None:
                    self._unfit_change_since = ts_ns
                if ts_ns - self._unfit_change_since < cfg.relearn_s * 1e9:
                    self.implausible += 1
                    return LaneUpdate(state=self._report(ts_ns, Signal.UNFIT, "unfit_change", weight=mean))
            step = LaneStep(before, units, mean - before_mean, max(spread, before_spread))
        self._unfit_change_since = None
        confidence = round(max(0.0, 1.0 - abs(x - units) / 0.5), 3)
        state = self._report(ts_ns, Signal.FIT, "", units=units, weight=mean, confidence=confidence)
        self.settled = (units, mean, spread, sem)
        self._settled_ns = ts_ns
        self.residual_g = mean - units * unit
        if units == 0 and abs(mean) < cfg.zero_tolerance_g and self.condition is Condition.STABLE:
            moved = cfg.zero_track_rate * mean
            self.offset_g += moved
            self.drift_g += moved
        if units == self._last_units and ts_ns - self._last_emit_ns < cfg.heartbeat_s * 1e9 and state is None:
            return LaneUpdate(None, step, state)
        self._last_units = units
        self._last_emit_ns = ts_ns
        return LaneUpdate(units, step, state)
