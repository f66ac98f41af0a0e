"""Scale-free streaming detectors of one numeric series: spikes, level shifts, variance
changes and stuck values, each normalised online by robust statistics of its own past.

Nothing is set per series: every statistic is compared with the typical size of that
same statistic over the recent past (a median of its absolute values), so a detector
calibrates itself to any sensor, scale, offset or sampling interval. A value repeated
exactly is judged by how often exact repeats happened before (a 12-bit ADC repeats
often, a float sensor almost never).

Components (``parts``):

* ``spike``: distance of the value from the median of the previous ``recent`` values;
* ``level``: median of the latest ``recent`` values (with this one) against the median
  of the ``reference`` values before them;
* ``variance``: log ratio of the trimmed mean absolute step of the latest ``recent`` steps to
  the median one of the reference steps; or, whichever scores higher, a burst of large
  steps: how surprising the number of steps above 3 × the reference's mean absolute step
  among the latest ``2 × recent`` is (binomial tail), given how often such steps happened
  in the reference (the two largest recent steps left out, so a lone spike is none);
* ``stuck``: the surprise (−log probability) of the current run of identical values,
  given the share of zero steps before the run began.

The score is the largest of the components' scores, each a logistic of its z value.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ._contract import SENSOR_FAULT, Features, finite, register
from ._window import SortedWindow

__all__ = [
    "LevelShiftDetector",
    "SeriesDetector",
    "SpikeDetector",
    "StuckDetector",
    "VarianceDetector",
]

PARTS = ("spike", "level", "variance", "stuck")
BURST_HALF, BURST_WIDTH, BURST_STEP = 12.0, 1.5, 3.0
# (z at which the score is 0.5, logistic width) per component
_CURVE = {
    "spike": (5.5, 0.8),
    "level": (4.5, 0.7),
    "variance": (5.5, 0.6),
    "stuck": (14.0, 2.0),
    "burst": (BURST_HALF, BURST_WIDTH),
}
_TINY = 1e-300


def _logistic(z: float, part: str) -> float:
    half, width = _CURVE[part]
    t = (z - half) / width
    if math.isnan(t):  # cannot happen for values within ±1e300; never let a NaN out
        return 1.0
    if t > 40:
        return 1.0
    if t < -40:
        return 0.0
    return 1.0 / (1.0 + math.exp(-t))


def _log_binomial_tail(n: int, k: int, p: float) -> float:
    """log P(X >= k) for X ~ Binomial(n, p), summed in log space (no underflow)."""
    terms = [
        math.lgamma(n + 1)
        - math.lgamma(j + 1)
        - math.lgamma(n - j + 1)
        + j * math.log(p)
        + (n - j) * math.log1p(-p)
        for j in range(k, n + 1)
    ]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


class SeriesDetector:
    """All four components on the feature ``key`` (default ``value``)."""

    kind: ClassVar[str] = "series"
    default_parts: ClassVar[tuple[str, ...]] = PARTS

    def __init__(
        self,
        key: str = "value",
        *,
        recent: int = 12,
        reference: int = 96,
        calibration: int = 256,
        warmup: int = 24,
        parts: tuple[str, ...] | None = None,
    ) -> None:
        parts = tuple(parts) if parts is not None else self.default_parts
        if not parts or any(p not in PARTS for p in parts):
            raise ValueError(f"parts must be a non-empty subset of {PARTS}, got {parts}")
        if not (2 <= recent < reference and warmup >= 4 and calibration >= 8):
            raise ValueError("need 2 <= recent < reference, warmup >= 4, calibration >= 8")
        self.key, self.parts = key, parts
        self.recent, self.reference, self.calibration, self.warmup = recent, reference, calibration, warmup
        self.n = 0  # finite values learnt
        self.last: float | None = None
        self.run = 0  # length of the current run of identical values (1 = no repeat)
        self.run_p0 = 1.0  # share of zero steps when the run began (1: no evidence)
        self.quantum = 0.0  # smallest non-zero step seen
        self._rec = SortedWindow(recent)
        self._ref = SortedWindow(reference)
        self._steps_rec = SortedWindow(recent * 2)
        self._steps_ref = SortedWindow(reference)
        self._cal = {p: SortedWindow(calibration) for p in ("spike", "level", "variance")}

    # -- statistics of one candidate value, without changing anything -----------------
    def _floor(self, centre: float) -> float:
        return max(self.quantum, abs(centre) * 1e-12, _TINY)

    def _stats(self, v: float) -> dict[str, float]:
        """Raw (uncalibrated) statistics of ``v`` against the current state."""
        centre = self._rec.median() if len(self._rec) else v
        step = abs(v - self.last) if self.last is not None else 0.0
        out = {"spike": abs(v - centre), "level": abs(self._rec.median_with(v) - self._ref.median())}
        # reference: the median, as a mean-absolute equivalent (robust to half of the
        # window being anomalous), or a trimmed mean where most steps are exact zeros
        s_ref = 1.183 * self._steps_ref.median() or self._steps_ref.trimmed_mean(0.05)
        s_rec = self._steps_rec.trimmed_mean(0.08, step)
        floor = self._floor(centre)
        out["variance"] = abs(math.log((s_rec + floor) / (s_ref + floor)))
        out["burst"] = self._burst(step, s_ref, floor)
        return out

    def _burst(self, step: float, s_ref: float, floor: float) -> float:
        """Surprise (−log probability) of the number of large steps among the latest
        ones, given how often steps that large happened in the reference: a variance
        increase shows as a burst of large steps well before it moves a mean. The two
        largest recent steps are left out, so a lone spike (a step out and a step back)
        is no burst."""
        n_ref = len(self._steps_ref)
        if n_ref < self.warmup or s_ref <= 0:
            return 0.0
        limit = BURST_STEP * max(s_ref, floor)
        p0 = (self._steps_ref.count_above(limit) + 0.5) / (n_ref + 1)
        k = self._steps_rec.count_above(limit) + (step > limit) - 2
        n = len(self._steps_rec) + 1
        if k < 2:
            return 0.0
        return -_log_binomial_tail(n, k, p0)

    def _z(self, v: float) -> dict[str, float]:
        raw = self._stats(v)
        floor = self._floor(v)
        z = {}
        for part in ("spike", "level", "variance"):
            cal = self._cal[part]
            # sigma of a half-normal from its median (robust to anomalous history);
            # from upper quantiles only when the median is an exact zero (quantised)
            typical = 1.4826 * cal.median() or cal.quantile(0.75) / 1.15 or cal.quantile(0.9) / 1.645
            if part == "variance":
                typical = max(typical, 0.15)  # a log ratio: do not call noise of noise a change
            z[part] = raw[part] / max(typical, floor)
        z["burst"] = raw["burst"]
        run = self.run + 1 if self.last is not None and v == self.last else 1
        z["stuck"] = (run - 1) * -math.log(self.run_p0) if run >= 3 else 0.0
        return z

    def components(self, x: Features) -> dict[str, float]:
        """Score of every component of this detector for ``x`` (no change)."""
        v = finite(x, self.key)
        if v is None:
            return dict.fromkeys(self.parts, SENSOR_FAULT)
        if self.n < self.warmup:
            return dict.fromkeys(self.parts, 0.0)
        z = self._z(v)
        out = {p: _logistic(z[p], p) for p in self.parts}
        if "variance" in out:
            out["variance"] = max(out["variance"], _logistic(z["burst"], "burst"))
        return out

    def score_one(self, x: Features) -> float:
        return max(self.components(x).values())

    def learn_one(self, x: Features) -> None:
        v = finite(x, self.key)
        if v is None:
            return
        if self.n >= 2:
            raw = self._stats(v)
            for part, cal in self._cal.items():
                cal.push(raw[part])
        if self.last is not None:
            step = abs(v - self.last)
            if step > 0 and (self.quantum == 0 or step < self.quantum):
                self.quantum = step
            if step == 0:
                self.run += 1
            else:
                self.run = 1
            if self.run == 2:  # a run begins: freeze the evidence it is judged by
                n = len(self._steps_ref)
                self.run_p0 = (self._steps_ref.count(0.0) + 0.5) / (n + 1) if n >= self.warmup else 1.0
            moved = self._steps_rec.push(step)
            if moved is not None:
                self._steps_ref.push(moved)
        else:
            self.run = 1
        moved = self._rec.push(v)
        if moved is not None:
            self._ref.push(moved)
        self.last = v
        self.n += 1

    # -- state ----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "params": {
                "key": self.key,
                "recent": self.recent,
                "reference": self.reference,
                "calibration": self.calibration,
                "warmup": self.warmup,
                "parts": list(self.parts),
            },
            "n": self.n,
            "last": self.last,
            "run": self.run,
            "run_p0": self.run_p0,
            "quantum": self.quantum,
            "rec": self._rec.values(),
            "ref": self._ref.values(),
            "steps_rec": self._steps_rec.values(),
            "steps_ref": self._steps_ref.values(),
            "cal": {p: w.values() for p, w in self._cal.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SeriesDetector:
        p = state["params"]
        det = cls(
            str(p["key"]),
            recent=int(p["recent"]),
            reference=int(p["reference"]),
            calibration=int(p["calibration"]),
            warmup=int(p["warmup"]),
            parts=tuple(str(s) for s in p["parts"]),
        )
        det.n, det.run = int(state["n"]), int(state["run"])
        det.last = None if state["last"] is None else float(state["last"])
        det.run_p0, det.quantum = float(state["run_p0"]), float(state["quantum"])
        det._rec = SortedWindow(det.recent, map(float, state["rec"]))
        det._ref = SortedWindow(det.reference, map(float, state["ref"]))
        det._steps_rec = SortedWindow(det.recent * 2, map(float, state["steps_rec"]))
        det._steps_ref = SortedWindow(det.reference, map(float, state["steps_ref"]))
        det._cal = {k: SortedWindow(det.calibration, map(float, state["cal"][k])) for k in det._cal}
        return det


class SpikeDetector(SeriesDetector):
    kind: ClassVar[str] = "spike"
    default_parts = ("spike",)


class LevelShiftDetector(SeriesDetector):
    kind: ClassVar[str] = "level_shift"
    default_parts = ("level",)


class VarianceDetector(SeriesDetector):
    kind: ClassVar[str] = "variance"
    default_parts = ("variance",)


class StuckDetector(SeriesDetector):
    kind: ClassVar[str] = "stuck"
    default_parts = ("stuck",)


for _cls in (SeriesDetector, SpikeDetector, LevelShiftDetector, VarianceDetector, StuckDetector):
    register(_cls.kind, _cls.from_state)
