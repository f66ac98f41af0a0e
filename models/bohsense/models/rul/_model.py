"""Remaining useful life from run-to-failure histories.

* target: cycles to failure, capped at ``cap`` (a healthy unit's remaining life cannot
  be told from its sensors, so early life is one plateau: the piecewise-linear target);
* features: columns constant in training are dropped; when the leading ``settings``
  columns form a few operating conditions (k-means with a silhouette above 0.9), every
  feature is standardised per condition, else over all rows; then per row, over that
  unit's history up to the row only, means over the last 5, 15 and 30 cycles, slopes
  over the last 10 and 30, and the cycle number (the raw latest value only adds noise);
* model: scikit-learn's histogram gradient boosting for the median and for the
  ``quantiles`` (the uncertainty band), on one thread by default (on a shared machine
  OpenMP threads mostly wait for each other; ``threads=None`` uses every core).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bohsense.models.errors import InputError

from ._table import Table

__all__ = ["RulModel"]


def _rolling(x: np.ndarray, w: int) -> np.ndarray:
    """Causal mean of the last ``w`` rows (fewer at the start), per column."""
    c = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), x]), axis=0)
    idx = np.arange(1, x.shape[0] + 1)
    lo = np.maximum(idx - w, 0)
    out: np.ndarray = (c[idx] - c[lo]) / (idx - lo)[:, None]
    return out


def _slope(x: np.ndarray, w: int) -> np.ndarray:
    """Causal least-squares slope over the last ``w`` rows, per column."""
    n = x.shape[0]
    t = np.arange(n, dtype=float)[:, None]
    out = np.zeros_like(x)
    ct = np.cumsum(np.vstack([np.zeros((1, 1)), t]), axis=0)
    ctt = np.cumsum(np.vstack([np.zeros((1, 1)), t * t]), axis=0)
    cx = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), x]), axis=0)
    ctx = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), t * x]), axis=0)
    idx = np.arange(1, n + 1)
    lo = np.maximum(idx - w, 0)
    m = (idx - lo)[:, None].astype(float)
    st, stt = ct[idx] - ct[lo], ctt[idx] - ctt[lo]
    sx, stx = cx[idx] - cx[lo], ctx[idx] - ctx[lo]
    den = m * stt - st * st
    ok = den[:, 0] > 0
    out[ok] = (m[ok] * stx[ok] - st[ok] * sx[ok]) / den[ok]
    return out


@dataclass
class RulModel:
    settings: int = 0
    cap: float = 125.0
    quantiles: tuple[float, float] = (0.1, 0.9)
    seed: int = 0
    threads: int | None = 1  # OpenMP threads while fitting/predicting (None: all cores)
    keep_: np.ndarray | None = field(default=None, init=False)
    columns_: int = field(default=0, init=False)
    conditions_: object | None = field(default=None, init=False)
    mean_: np.ndarray | None = field(default=None, init=False)
    std_: np.ndarray | None = field(default=None, init=False)
    models_: dict[str, object] = field(default_factory=dict, init=False)

    # -- features ------------------------------------------------------------------------
    def _condition(self, t: Table) -> np.ndarray:
        if self.conditions_ is None:
            return np.zeros(t.features.shape[0], dtype=int)
        return np.asarray(self.conditions_.predict(t.features[:, : self.settings]))  # type: ignore[attr-defined]

    def _fit_conditions(self, t: Table) -> None:
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score

        self.conditions_ = None
        if self.settings <= 0:
            return
        s = t.features[:, : self.settings]
        if np.all(s.std(axis=0) == 0):
            return
        rng = np.random.default_rng(self.seed)
        sample = s[rng.choice(s.shape[0], min(1000, s.shape[0]), replace=False)]
        best = None
        for k in range(2, 7):
            km = KMeans(n_clusters=k, n_init=2, random_state=self.seed).fit(sample)
            score = float(silhouette_score(sample, km.labels_))
            if score > 0.9 and (best is None or score > best[0]):
                best = (score, km)
        if best is not None:
            self.conditions_ = best[1]

    def _matrix(self, t: Table) -> np.ndarray:
        assert self.keep_ is not None
        assert self.mean_ is not None
        assert self.std_ is not None
        cond = self._condition(t)
        x = t.features[:, self.keep_]
        z = (x - self.mean_[cond]) / self.std_[cond]
        rows = np.empty((x.shape[0], 5 * z.shape[1] + 1))
        for unit in t.unit_ids():
            i = np.flatnonzero(t.units == unit)
            zu = z[i]
            rows[i] = np.hstack(
                [
                    _rolling(zu, 5),
                    _rolling(zu, 15),
                    _rolling(zu, 30),
                    _slope(zu, 10),
                    _slope(zu, 30),
                    t.cycles[i, None],
                ]
            )
        return rows

    # -- fit / predict -------------------------------------------------------------------
    def fit(self, t: Table) -> RulModel:
        # threadpoolctl limits the thread pools of the libraries loaded when it is entered:
        # load scikit-learn's (OpenMP, BLAS) first
        import sklearn.cluster
        import sklearn.ensemble  # noqa: F401
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.threads):
            return self._fit(t)

    def _fit(self, t: Table) -> RulModel:
        from sklearn.ensemble import HistGradientBoostingRegressor

        if self.settings < 0 or self.settings >= t.features.shape[1]:
            raise InputError(
                f"--settings {self.settings}: the table has {t.features.shape[1]} feature columns"
            )
        if len(t.unit_ids()) < 3:
            raise InputError("training needs at least 3 units run to failure")
        self._fit_conditions(t)
        cond = self._condition(t)
        cols = np.arange(self.settings, t.features.shape[1])
        x = t.features[:, cols]
        n_cond = int(cond.max()) + 1
        mean = np.zeros((n_cond, x.shape[1]))
        std = np.ones((n_cond, x.shape[1]))
        for c in range(n_cond):
            xc = x[cond == c]
            mean[c], std[c] = xc.mean(axis=0), xc.std(axis=0)
        varying = np.all(std > 1e-9 * (1 + np.abs(mean)), axis=0)
        if not varying.any():
            raise InputError("every feature column is constant in the training table")
        self.keep_ = cols[varying]
        self.columns_ = t.features.shape[1]
        self.mean_, self.std_ = mean[:, varying], std[:, varying]
        life = {u: int(t.cycles[t.units == u].max()) for u in t.unit_ids()}
        y = np.minimum(np.array([life[u] for u in t.units.tolist()]) - t.cycles, self.cap)
        m = self._matrix(t)
        params = {"max_iter": 150, "learning_rate": 0.1, "max_leaf_nodes": 15, "min_samples_leaf": 40,
                  "l2_regularization": 1.0, "random_state": self.seed}  # fmt: skip
        self.models_ = {"median": HistGradientBoostingRegressor(loss="absolute_error", **params).fit(m, y)}
        for q in self.quantiles:
            self.models_[f"q{q:g}"] = HistGradientBoostingRegressor(
                loss="quantile", quantile=q, **params
            ).fit(m, y)
        return self

    def _predict(self, name: str, m: np.ndarray) -> np.ndarray:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.threads):
            out: np.ndarray = np.clip(self.models_[name].predict(m), 0, self.cap)  # type: ignore[attr-defined]
        return out

    def _last_rows(self, t: Table) -> tuple[list[int], np.ndarray]:
        if self.keep_ is None:
            raise RuntimeError("fit the model first")
        if t.features.shape[1] != self.columns_:
            raise InputError(
                f"the test table has {t.features.shape[1]} feature columns, the training table {self.columns_}"
            )
        m = self._matrix(t)
        units = t.unit_ids()
        last = [int(np.flatnonzero(t.units == u)[-1]) for u in units]
        return units, m[last]

    def predict(self, t: Table) -> dict[int, float]:
        """Remaining cycles of each unit after its last row (median estimate)."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.threads):
            units, m = self._last_rows(t)
        pred = self._predict("median", m)
        return dict(zip(units, pred.tolist(), strict=True))

    def predict_interval(self, t: Table) -> dict[int, tuple[float, float, float]]:
        """(low quantile, median, high quantile) of each unit's remaining cycles."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.threads):
            units, m = self._last_rows(t)
        lo, hi = (self._predict(f"q{q:g}", m) for q in self.quantiles)
        med = self._predict("median", m)
        return {
            u: (float(min(a, b)), float(b), float(max(c, b)))
            for u, a, b, c in zip(units, lo, med, hi, strict=True)
        }
