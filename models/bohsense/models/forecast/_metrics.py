"""The M5 accuracy metric at the item × store level (level 12 of the competition).

RMSSE of one series: the root of the mean squared error over the horizon, divided by
the mean squared one-step naive error of the training days counted from the series'
first non-zero sale. WRMSSE: the RMSSEs weighted by each series' dollar sales (units ×
sell price) over the last 28 days of training, the weights summing to one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._history import FloatArray

__all__ = ["naive_scale", "rmsse", "wrmsse"]


def naive_scale(train: FloatArray) -> float:
    """Mean squared one-step naive error from the first non-zero sale (NaN if fewer than
    two days remain or they never change)."""
    nz = np.flatnonzero(train)
    if len(nz) == 0:
        return math.nan
    y = train[nz[0] :]
    if len(y) < 2:
        return math.nan
    scale = float(np.mean(np.diff(y) ** 2))
    return scale if scale > 0 else math.nan


def rmsse(train: FloatArray, actual: FloatArray, forecast: FloatArray) -> float:
    return math.sqrt(float(np.mean((actual - forecast) ** 2)) / naive_scale(train))


def wrmsse(
    trains: Sequence[FloatArray],
    prices: Sequence[FloatArray],
    actuals: Sequence[FloatArray],
    forecasts: Sequence[FloatArray],
) -> float:
    """WRMSSE over the series whose weight is positive (a series with no dollar sales in
    the last 28 training days weighs nothing, as in M5)."""
    weights, scores = [], []
    for train, price, actual, fc in zip(trains, prices, actuals, forecasts, strict=True):
        dollars = float(np.nansum(train[-28:] * price[-28:]))
        if dollars <= 0:
            continue
        weights.append(dollars)
        scores.append(rmsse(train, actual, fc))
    if not weights:
        raise ValueError("no series has dollar sales in the last 28 training days")
    w = np.asarray(weights) / sum(weights)
    return float(np.dot(w, scores))
