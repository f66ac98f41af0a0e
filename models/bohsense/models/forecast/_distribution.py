"""Count distributions for demand over a period: negative binomial when the variance
exceeds the mean, Poisson otherwise (intermittent demand is rarely under-dispersed, and
a Poisson is the least spread a count can honestly be given).

``CountDistribution(mean, variance)`` gives quantiles, and the expected shortage
``E[(D - s)+]`` that an order-up-to level needs to meet a fill-rate target.
"""

from __future__ import annotations

import math

__all__ = ["CountDistribution"]

_TAIL = 1e-9


class CountDistribution:
    __slots__ = ("_cdf", "mean", "variance")

    def __init__(self, mean: float, variance: float) -> None:
        if not (math.isfinite(mean) and math.isfinite(variance)) or mean < 0 or variance < 0:
            raise ValueError(f"mean {mean} and variance {variance} must be finite and >= 0")
        self.mean = mean
        self.variance = max(variance, mean)
        self._cdf: list[float] = []
        self._build()

    def _build(self) -> None:
        mu, var = self.mean, self.variance
        if mu <= 0.0:
            self._cdf = [1.0]
            return None
        if var <= mu * (1.0 + 1e-9):  # Poisson
            pk = math.exp(-mu)

            def ratio(k: int) -> float:
                return mu / (k + 1)
        else:  # negative binomial, p = mu/var, r = mu²/(var - mu)
            p = mu / var
            r = mu * mu / (var - mu)
            pk = math.exp(r * math.log(p))

            def ratio(k: int) -> float:
                return (k + r) / (k + 1) * (1.0 - p)

        cdf, total, k = [], 0.0, 0
        limit = mu + 60.0 * math.sqrt(var) + 50.0
        if pk == 0.0:  # far from zero: start from logs to avoid underflow
            return self._build_logs()
        while True:
            total += pk
            cdf.append(min(total, 1.0))
            if 1.0 - total < _TAIL or k > limit:
                break
            pk *= ratio(k)
            k += 1
        self._cdf = cdf
        return None

    def _build_logs(self) -> None:
        mu, var = self.mean, self.variance
        if var <= mu * (1.0 + 1e-9):

            def logpmf(k: int) -> float:
                return k * math.log(mu) - mu - math.lgamma(k + 1)
        else:
            p = mu / var
            r = mu * mu / (var - mu)

            def logpmf(k: int) -> float:
                return (
                    math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1)
                    + r * math.log(p) + k * math.log1p(-p)
                )  # fmt: skip

        cdf, total, k = [], 0.0, 0
        limit = int(mu + 60.0 * math.sqrt(var) + 50.0)
        while k <= limit:
            total += math.exp(logpmf(k))
            cdf.append(min(total, 1.0))
            if k > mu and 1.0 - total < _TAIL:
                break
            k += 1
        self._cdf = cdf

    def cdf(self, k: int) -> float:
        if k < 0:
            return 0.0
        return self._cdf[k] if k < len(self._cdf) else 1.0

    def quantile(self, q: float) -> int:
        """The smallest count k with P(D <= k) >= q."""
        if not 0.0 < q < 1.0:
            raise ValueError(f"quantile level {q} must be in (0, 1)")
        for k, c in enumerate(self._cdf):
            if c >= q:
                return k
        return len(self._cdf) - 1

    def expected_shortage(self, s: int) -> float:
        """E[(D - s)+] for a stock of ``s`` units: mean minus E[min(D, s)]."""
        if s <= 0:
            return self.mean
        covered = sum(1.0 - self.cdf(k) for k in range(s))
        return max(self.mean - covered, 0.0)
