"""Order-up-to levels for a periodic-review (R, S) policy, decided from the past only.

Each policy is told each day's demand after the day (``observe``) and asked, at a review
at the start of a day, for the order-up-to level ``S`` covering the protection interval
(lead time + review period, see ``_arithmetic``).

``ForecastPolicy`` — the project's policy:

- forecast: the Syntetos–Boylan class of the last 365 days' demand (recomputed every 28
  days) picks the method as ``bohsense forecast`` does (``SB_TABLE``: weekday-seasonal
  exponential smoothing for smooth/erratic demand, weekday-seasonal TSB for
  intermittent/lumpy); its forecasts of the protection interval's days are summed;
- spread: every day, the forecast sum made before the interval is compared with the
  demand then seen in it; the exponentially weighted mean squared error divided by the
  weighted mean forecast sum (memory ≈ 60 days) is the variance-to-mean ratio φ, and the
  interval's demand is a negative binomial with mean μ and variance φ·μ (Poisson when φ
  is below one). Bias, autocorrelation and level uncertainty are in it, not assumed away;
  a ratio, not the squared error itself, so that the spread follows the level down when
  an item stops selling (a past burst does not keep a slow item's stock high);
- level: the smallest ``S`` whose expected fill rate reaches the target, with the standard
  periodic-review shortage ``E[(D(L+R) − S)+] − E[(D(L) − S)+]`` per cycle against the
  forecast demand of the review period, capped at the target quantile of ``D(L+R)``.

``MovingAveragePolicy`` — the baseline: ``S = ⌈28-day mean × (L+R) + z(P) × 28-day standard
deviation × √(L+R)⌉``, the textbook normal safety stock for a cycle service level P.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import NormalDist

import numpy as np

from bohsense.models.forecast import SB_TABLE, CountDistribution, make, sb_class

from ._arithmetic import PolicyTimes
from ._errors import PolicyError

__all__ = ["ForecastPolicy", "MovingAveragePolicy", "fill_rate_level"]

_CLASS_EVERY = 28
_ERROR_MEMORY = 60.0


def fill_rate_level(mu_p: float, var_p: float, mu_l: float, var_l: float, mu_r: float, target: float) -> int:
    """Smallest S with 1 − (E[(Dp − S)+] − E[(Dl − S)+]) / mu_r >= target, where Dp is the
    protection interval's demand and Dl the lead time's (mu_l = 0: no lead time), and never
    above the target quantile of Dp: when the review period's expected demand is tiny
    against the lead time's, the ratio is ill-conditioned and would ask for far more stock
    than a cycle service level of the target needs."""
    if mu_r <= 0 or mu_p <= 0:
        return 0
    dp = CountDistribution(mu_p, var_p)
    dl = CountDistribution(mu_l, var_l) if mu_l > 0 else None
    allowed = (1.0 - target) * mu_r
    es_p, es_l = mu_p, mu_l if dl else 0.0
    cap = dp.quantile(target)
    s = 0
    while True:
        if es_p - es_l <= allowed + 1e-12 or s >= cap:
            return s
        es_p -= 1.0 - dp.cdf(s)
        if dl is not None:
            es_l -= 1.0 - dl.cdf(s)
        s += 1
        if s > 10 * mu_p + 100 * math.sqrt(var_p) + 100:  # pragma: no cover - a guard, never reached
            return s


class _EW:
    """Exponentially weighted mean, bias-corrected for its start."""

    __slots__ = ("_a", "_m", "_w")

    def __init__(self, memory: float) -> None:
        self._a = 1.0 / memory
        self._m = 0.0
        self._w = 0.0

    def add(self, x: float) -> None:
        self._w = (1 - self._a) * self._w + self._a
        self._m = (1 - self._a) * self._m + self._a * x

    def value(self, default: float) -> float:
        return self._m / self._w if self._w > 0 else default


def _ratio(squared: _EW, forecast: _EW) -> float:
    f = forecast.value(0.0)
    return max(squared.value(0.0) / f, 1.0) if f > 0 else 1.0


class ForecastPolicy:
    def __init__(self, times: PolicyTimes, target: float) -> None:
        if not 0.0 < target < 1.0:
            raise PolicyError(f"service level {target} must be between 0 and 1")
        self.times, self.target = times, target
        self._names = sorted(set(SB_TABLE.values()))
        self._methods = {n: make(n) for n in self._names}
        self._sq_p = {n: _EW(_ERROR_MEMORY) for n in self._names}
        self._sq_l = {n: _EW(_ERROR_MEMORY) for n in self._names}
        self._fc_p = {n: _EW(_ERROR_MEMORY) for n in self._names}
        self._fc_l = {n: _EW(_ERROR_MEMORY) for n in self._names}
        h = times.protection_days
        self._pending: deque[tuple[dict[str, float], dict[str, float]]] = deque()
        self._recent: deque[float] = deque(maxlen=h)
        self._history: list[float] = []
        self._started = False
        self.method = self._names[0]

    def _sums(self, name: str, weekday: int) -> tuple[float, float, float]:
        m, lt = self._methods[name], self.times.lead_time
        f = [m.predict((weekday + k) % 7) for k in range(self.times.protection_days)]
        return sum(f), sum(f[:lt]), sum(f[lt:])

    def observe(self, sold: float, weekday: int) -> None:
        if not self._started and sold <= 0:
            return  # nothing is learned before the first sale
        self._started = True
        h, lt = self.times.protection_days, self.times.lead_time
        made = {n: self._sums(n, weekday) for n in self._names}
        self._pending.append(({n: v[0] for n, v in made.items()}, {n: v[1] for n, v in made.items()}))
        for m in self._methods.values():
            m.step(sold, weekday)
        self._recent.append(sold)
        self._history.append(sold)
        if len(self._pending) == h:
            fp, fl = self._pending.popleft()
            got_p = sum(self._recent)
            got_l = sum(list(self._recent)[:lt])
            for n in self._names:
                self._sq_p[n].add((got_p - fp[n]) ** 2)
                self._sq_l[n].add((got_l - fl[n]) ** 2)
                self._fc_p[n].add(fp[n])
                self._fc_l[n].add(fl[n])
        if len(self._history) % _CLASS_EVERY == 1:
            cls = sb_class(np.asarray(self._history[-365:]))
            self.method = SB_TABLE.get(cls, self._names[0])

    @property
    def started(self) -> bool:
        """Whether a sale has been seen (before it the policy stocks nothing)."""
        return self._started

    def demand(self, weekday: int) -> tuple[float, float, float, float, float]:
        """(μ, variance) of the protection interval's demand, (μ, variance) of the lead
        time's, and μ of the review part, for a review on a day of this weekday."""
        if not self._started:
            return 0.0, 0.0, 0.0, 0.0, 0.0
        n = self.method
        mu_p, mu_l, mu_r = self._sums(n, weekday)
        var_p = mu_p * _ratio(self._sq_p[n], self._fc_p[n])
        var_l = mu_l * _ratio(self._sq_l[n], self._fc_l[n])
        return mu_p, var_p, mu_l, var_l, mu_r

    def level(self, weekday: int) -> int:
        if not self._started:
            return 0
        mu_p, var_p, mu_l, var_l, mu_r = self.demand(weekday)
        return fill_rate_level(mu_p, var_p, mu_l, var_l, mu_r, self.target)


class MovingAveragePolicy:
    def __init__(self, times: PolicyTimes, target: float, window: int = 28) -> None:
        if not 0.0 < target < 1.0:
            raise PolicyError(f"service level {target} must be between 0 and 1")
        self.times = times
        self._z = NormalDist().inv_cdf(target)
        self._window: deque[float] = deque(maxlen=window)
        self.method = "ma28"

    def observe(self, sold: float, weekday: int) -> None:
        self._window.append(sold)

    def level(self, weekday: int) -> int:
        if not self._window:
            return 0
        w = np.asarray(self._window)
        h = self.times.protection_days
        return max(math.ceil(float(w.mean()) * h + self._z * float(w.std()) * math.sqrt(h) - 1e-9), 0)
