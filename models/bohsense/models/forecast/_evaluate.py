"""Back-tests scored with WRMSSE: the last days held out, an earlier window, and whole
stores held out (the class-to-method table learned on some stores, scored on others).

Every figure of one report comes from one run, benchmarks included, on the same series
and the same window; nothing of a window being scored is used to fit or choose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ._global import GlobalBoosting
from ._history import Series
from ._metrics import rmsse, wrmsse
from ._select import CANDIDATES, GLOBAL, SB_TABLE, forecast_series, sb_class

__all__ = ["BENCHMARKS", "OURS", "backtest", "coverage", "learn_table", "store_holdout"]

BENCHMARKS = ("snaive", "ses", "tsb")
OURS = ("sb", "combo", "gbm", "auto")
Progress = Callable[[str], None]


def _split(series: Sequence[Series], holdout: int, back: int) -> list[tuple[Series, Series]]:
    """(training history, the same series up to the end of the scored window)."""
    out = []
    for s in series:
        end = len(s.values) - back
        if end - holdout < 2 * 28 + 28:
            continue
        out.append((s.head(end - holdout), s.head(end)))
    return out


def _price(s: Series) -> np.ndarray:
    # no price column: weigh by units, as if every unit cost the same
    return np.ones_like(s.price) if np.all(np.isnan(s.price)) else s.price


def backtest(
    series: Sequence[Series],
    holdout: int,
    methods: Sequence[str],
    *,
    back: int = 0,
    table: Mapping[str, str] = SB_TABLE,
    fit_on: Sequence[Series] | None = None,
    progress: Progress | None = None,
) -> dict[str, float]:
    """WRMSSE of each method over the ``holdout`` days that end ``back`` days before the
    last day of the histories. The global model is fitted on the training days of these
    series, or on ``fit_on`` (histories that must end where training ends)."""
    pairs = _split(series, holdout, back)
    if not pairs:
        raise ValueError("no series is long enough for this window")
    trains = [t.values for t, _ in pairs]
    prices = [_price(t) for t, _ in pairs]
    actuals = [full.values[-holdout:] for _, full in pairs]
    out: dict[str, float] = {}
    model = None
    if any(m in GLOBAL for m in methods):
        if progress:
            progress(f"window ending {back} days before the end: fitting the global model")
        model = GlobalBoosting(holdout).fit(list(fit_on) if fit_on is not None else [t for t, _ in pairs])
    for m in methods:
        if progress:
            progress(f"window ending {back} days before the end: {m}")
        fcs = [forecast_series(t, holdout, m, table=table, model=model).point for t, _ in pairs]
        out[m] = round(wrmsse(trains, prices, actuals, fcs), 4)
    return out


def coverage(
    series: Sequence[Series], holdout: int, levels: Sequence[float], *, method: str = "sb", back: int = 0
) -> dict[str, float]:
    """Share of held-out days whose demand is at most the forecast's daily quantile, per
    level (a calibrated spread gives about the level itself; demand is a count, so the
    share is at least the level when the quantile is exact)."""
    pairs = _split(series, holdout, back)
    hits = dict.fromkeys(levels, 0)
    days = 0
    for t, full in pairs:
        fc = forecast_series(t, holdout, method)
        actual = full.values[-holdout:]
        days += len(actual)
        for q in levels:
            hits[q] += int(np.sum(actual <= fc.quantile(q)))
    return {f"{q:g}": round(hits[q] / days, 4) for q in levels} if days else {}


def learn_table(series: Sequence[Series], holdout: int, *, back: int = 0) -> dict[str, str]:
    """For each Syntetos–Boylan class, the candidate with the least dollar-weighted RMSSE
    over these series' window (classes seen nowhere keep the default table's method)."""
    pairs = _split(series, holdout, back)
    score: dict[str, dict[str, float]] = {}
    for t, full in pairs:
        w = float(np.nansum(t.values[-28:] * _price(t)[-28:]))
        if w <= 0:
            continue
        cls = sb_class(t.values)
        per = score.setdefault(cls, {})
        for m in CANDIDATES:
            fc = forecast_series(t, holdout, m).point
            per[m] = per.get(m, 0.0) + w * rmsse(t.values, full.values[-holdout:], fc)
    table = dict(SB_TABLE)
    for cls, per in score.items():
        table[cls] = min(CANDIDATES, key=lambda m: per[m])
    return table


def store_holdout(
    series: Sequence[Series],
    holdout: int,
    fit_prefix: str,
    score_prefix: str,
    *,
    progress: Progress | None = None,
) -> dict[str, object]:
    """Learn the class table on stores whose id starts with ``fit_prefix`` (their last
    ``holdout`` days) and the global model on their training days, then score them, and
    every other method, on the ``score_prefix`` stores' last ``holdout`` days."""
    fit = [s for s in series if s.store_id.startswith(fit_prefix)]
    score = [s for s in series if s.store_id.startswith(score_prefix)]
    if not fit or not score:
        raise ValueError(f"no series in stores {fit_prefix}* or {score_prefix}*")
    if progress:
        progress(f"learning the class table on {fit_prefix}* stores")
    table = learn_table(fit, holdout)
    # the global model learns from the fit stores' training days only
    fit_train = [t for t, _ in _split(fit, holdout, 0)]
    res = backtest(score, holdout, (*OURS, *BENCHMARKS), fit_on=fit_train, progress=progress)
    learned = backtest(score, holdout, ("sb",), table=table)["sb"]
    return {"table_learned": table, "learned_sb": learned, **res}
