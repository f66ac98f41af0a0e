"""Choosing a method per series, and the forecast with its spread.

Two ways to choose, both looking only at the series' own history:

- ``sb``: the Syntetos–Boylan class of the last year (ADI = mean interval between sales,
  CV² = squared coefficient of variation of the non-zero sizes; cut-offs 1.32 and 0.49)
  mapped to a method by a table (``SB_TABLE``: smooth/erratic → ``esw``, intermittent/lumpy
  → ``tsbw``);
- ``gbm`` / ``combo``: a global gradient-boosted model fitted across all series
  (``_global``), alone or averaged with ``sb``;
- ``auto``: every candidate forecasts the series' last ``VALIDATION`` days from the day
  before them, and again the ``VALIDATION`` days before those; the one with the least
  summed squared error wins (ties: the earlier in ``CANDIDATES``).

Methods are fitted from the first non-zero sale (days before an item was ever sold carry
no information on its demand). The spread: the mean squared one-step error of the chosen
method over the last 56 days, as a variance-to-mean ratio of the forecast, so a day's
demand is a negative binomial (Poisson when that ratio is below one) around the forecast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ._distribution import CountDistribution
from ._global import GlobalBoosting
from ._history import FloatArray, Series
from ._methods import make

__all__ = [
    "CANDIDATES",
    "GLOBAL",
    "SB_TABLE",
    "VALIDATION",
    "Forecast",
    "forecast_series",
    "predict_from",
    "sb_class",
]

CANDIDATES = ("esw", "tsbw", "tsb", "sba", "ses", "snaive")
SB_TABLE: Mapping[str, str] = {"smooth": "esw", "erratic": "esw", "intermittent": "tsbw", "lumpy": "tsbw"}
VALIDATION = 28
_SPREAD_DAYS = 56


def sb_class(values: FloatArray, days: int = 365) -> str:
    """Syntetos–Boylan class of the last ``days`` days: smooth, erratic, intermittent or
    lumpy ("none" when nothing was sold)."""
    y = values[-days:]
    nz = np.flatnonzero(y)
    if len(nz) == 0:
        return "none"
    adi = len(y[nz[0] :]) / len(nz)
    sizes = y[nz]
    cv2 = float(np.var(sizes) / np.mean(sizes) ** 2)
    if adi < 1.32:
        return "smooth" if cv2 < 0.49 else "erratic"
    return "intermittent" if cv2 < 0.49 else "lumpy"


def predict_from(method: str, series: Series, origins: Sequence[int], horizon: int) -> dict[int, FloatArray]:
    """Forecasts of ``horizon`` days made by ``method`` after seeing the first ``o`` days,
    for every ``o`` in ``origins`` (one pass over the history)."""
    y = series.values
    wd = series.weekdays()
    nz = np.flatnonzero(y)
    first = int(nz[0]) if len(nz) else len(y)
    m = make(method)
    want = sorted(set(origins))
    out: dict[int, FloatArray] = {}
    t = first
    for o in want:
        while t < o:
            m.step(float(y[t]), int(wd[t]))
            t += 1
        future = series.weekdays(o, horizon)
        out[o] = np.array([m.predict(int(w)) for w in future])
    return out


def _one_step_spread(method: str, series: Series) -> float:
    """Variance-to-mean ratio of the one-step errors over the last ``_SPREAD_DAYS`` days."""
    y = series.values
    wd = series.weekdays()
    nz = np.flatnonzero(y)
    if len(nz) == 0:
        return 1.0
    start = max(int(nz[0]), len(y) - _SPREAD_DAYS)
    m = make(method)
    sq, fc = 0.0, 0.0
    for t in range(int(nz[0]), len(y)):
        if t >= start:
            p = m.predict(int(wd[t]))
            sq += (y[t] - p) ** 2
            fc += p
        m.step(float(y[t]), int(wd[t]))
    return max(sq / fc, 1.0) if fc > 0 else 1.0


@dataclass(frozen=True, slots=True)
class Forecast:
    series: Series
    method: str
    sb_class: str
    point: FloatArray
    dispersion: float  # variance / mean of a day's demand

    def quantile(self, q: float) -> FloatArray:
        return np.array([float(CountDistribution(mu, mu * self.dispersion).quantile(q)) for mu in self.point])


def _choose_by_validation(series: Series, candidates: Sequence[str]) -> str:
    n = len(series.values)
    if n < 2 * VALIDATION + 28:
        return candidates[0]
    o1, o2 = n - VALIDATION, n - 2 * VALIDATION
    best, best_err = candidates[0], math.inf
    for name in candidates:
        fc = predict_from(name, series, (o2, o1), VALIDATION)
        err = float(np.sum((series.values[o1:] - fc[o1]) ** 2))
        err += float(np.sum((series.values[o2:o1] - fc[o2]) ** 2))
        if err < best_err - 1e-12:
            best, best_err = name, err
    return best


GLOBAL = ("gbm", "combo")


def forecast_series(
    series: Series,
    horizon: int,
    method: str = "sb",
    *,
    table: Mapping[str, str] = SB_TABLE,
    candidates: Sequence[str] = CANDIDATES,
    model: GlobalBoosting | None = None,
) -> Forecast:
    """Forecast the ``horizon`` days after the series' last day with ``method``: a method
    name, ``sb`` (class table), ``auto`` (validation on the series' own recent past),
    ``gbm`` (the fitted global ``model``) or ``combo`` (the mean of ``sb`` and ``gbm``).
    A series shorter than 28 days gets ``sb`` in place of the global model."""
    cls = sb_class(series.values)
    if method in GLOBAL:
        if model is None:
            raise ValueError(f"method {method!r} needs a fitted global model")
        local = forecast_series(series, horizon, "sb", table=table)
        if len(series.values) < 28:
            return local
        glob = model.predict(series, horizon)
        point = glob if method == "gbm" else (glob + local.point) / 2.0
        return Forecast(series, method, cls, np.maximum(point, 0.0), local.dispersion)
    if method == "auto":
        chosen = _choose_by_validation(series, candidates)
    elif method == "sb":
        chosen = table.get(cls, "ses")
    else:
        make(method)  # refuses an unknown name
        chosen = method
    n = len(series.values)
    point = predict_from(chosen, series, (n,), horizon)[n]
    return Forecast(series, chosen, cls, point, _one_step_spread(chosen, series))
