"""A global gradient-boosted model across series (scikit-learn's
HistGradientBoostingRegressor, Poisson loss), direct multi-step.

One model learns from every series at once. A training row is (series, origin, step):
features known at the origin — the last 7/28/91-day means relative to the 28-day mean,
the share of zero days in the last 28, the last 8 weeks' weekday profile, the level —
and of the target day — step, weekday, SNAP, event, price against the series' mean price
of the last year, day of year, the item's category (the ``item_id`` up to its first
``_``) and the store. The target is the day's units over the series' 28-day mean (plus
0.1), each row weighted by that mean, so that one model fits slow and fast series alike.
Origins: every 7 days back from each series' last possible one, while at least 120 days
of history since its first sale remain, at most ``origins`` of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from ._history import FloatArray, Series

__all__ = ["GlobalBoosting"]

_MIN_HISTORY = 120


class GlobalBoosting:
    def __init__(
        self, horizon: int, *, origins: int = 104, every: int = 7, seed: int = 0, threads: int = 1
    ) -> None:
        if horizon < 1:
            raise ValueError(f"horizon {horizon} must be at least 1")
        self.horizon, self.origins, self.every, self.seed = horizon, origins, every, seed
        # one thread by default: on a small shared box OpenMP's one-thread-per-CPU default
        # oversubscribes and was measured 5-20x slower than one thread
        self.threads = threads
        self._cats: dict[str, int] = {}
        self._stores: dict[str, int] = {}
        self._model: object | None = None

    def _codes(self, s: Series) -> tuple[float, float]:
        cat = self._cats.get(s.item_id.split("_")[0])
        store = self._stores.get(s.store_id)
        return (np.nan if cat is None else float(cat), np.nan if store is None else float(store))

    def _features(self, s: Series, origin: int, steps: int) -> tuple[FloatArray, float]:
        y = s.values[:origin]
        m28 = float(y[-28:].mean())
        base = m28 + 0.1
        wd = s.weekdays(0, origin)[-56:]
        recent = y[-56:]
        profile = np.array(
            [float(recent[wd == w].mean()) / base if np.any(wd == w) else 1.0 for w in range(7)]
        )
        window = s.price[max(0, origin - 365) : origin]
        pmean = float(np.nanmean(window)) if np.any(~np.isnan(window)) else np.nan
        cat, store = self._codes(s)
        first_wd = s.start.weekday()
        n = len(s.values)
        rows = np.empty((steps, 14))
        for k in range(steps):
            t = origin + k
            w = (first_wd + t) % 7
            price = s.price[t] if t < n else np.nan
            rows[k] = (
                k, w, profile[w],
                float(y[-7:].mean()) / base, float(y[-91:].mean()) / base,
                float(np.mean(y[-28:] == 0)), np.log1p(m28),
                s.snap[t] if t < n else 0.0, s.event[t] if t < n else 0.0,
                price / pmean if pmean > 0 else np.nan,
                cat, store,
                ((s.start.toordinal() + t) % 365.25) / 365.25,
                y[origin - 7 + (k % 7)] / base,
            )  # fmt: skip
        return rows, base

    def fit(self, series: Sequence[Series]) -> GlobalBoosting:
        from sklearn.ensemble import HistGradientBoostingRegressor

        self._cats = {c: i for i, c in enumerate(sorted({s.item_id.split("_")[0] for s in series}))}
        self._stores = {c: i for i, c in enumerate(sorted({s.store_id for s in series}))}
        xs, ys, ws = [], [], []
        h = self.horizon
        for s in series:
            nz = np.flatnonzero(s.values)
            if len(nz) == 0:
                continue
            for j in range(self.origins):
                o = len(s.values) - h - j * self.every
                if o - int(nz[0]) < _MIN_HISTORY:
                    break
                f, base = self._features(s, o, h)
                xs.append(f)
                ys.append(s.values[o : o + h] / base)
                ws.append(np.full(h, base))
        if not xs:
            raise ValueError(f"no series has {_MIN_HISTORY} days after its first sale plus the horizon")
        model = HistGradientBoostingRegressor(
            loss="poisson", max_iter=300, learning_rate=0.05, max_leaf_nodes=31,
            min_samples_leaf=100, categorical_features=[10, 11], random_state=self.seed,
        )  # fmt: skip
        with threadpool_limits(self.threads):
            model.fit(np.vstack(xs), np.concatenate(ys), sample_weight=np.concatenate(ws))
        self._model = model
        return self

    def predict(self, s: Series, horizon: int | None = None) -> FloatArray:
        """The ``horizon`` days after the series' last day (zeros if it never sold)."""
        from sklearn.ensemble import HistGradientBoostingRegressor

        model = self._model
        if not isinstance(model, HistGradientBoostingRegressor):
            raise RuntimeError("GlobalBoosting.predict before fit")
        h = self.horizon if horizon is None else horizon
        if not np.any(s.values):
            return np.zeros(h)
        f, base = self._features(s, len(s.values), h)
        with threadpool_limits(self.threads):
            return np.asarray(model.predict(f), dtype=float) * base
