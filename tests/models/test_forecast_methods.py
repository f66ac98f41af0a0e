"""Forecasting methods, selection, count distributions and the M5 metric, on small
generated or hand-made series."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest

from bohsense.models.forecast import (
    CountDistribution,
    GlobalBoosting,
    Series,
    forecast_series,
    make,
    naive_scale,
    rmsse,
    sb_class,
    wrmsse,
)
from tests.models.demand import series_values

MONDAY = dt.date(2020, 1, 6)


def _series(values: np.ndarray | list[float], price: float = 1.0) -> Series:
    y = np.asarray(values, dtype=float)
    return Series("I", "S", MONDAY, y, np.full(len(y), price), np.zeros(len(y)), np.zeros(len(y)))


def _run(name: str, ys: list[float]) -> float:
    m = make(name)
    for t, y in enumerate(ys):
        m.step(y, t % 7)
    return m.predict(len(ys) % 7)


def test_ses_sba_tsb_follow_their_recursions() -> None:
    assert _run("ses", [10, 0]) == pytest.approx(10 + 0.1 * (0 - 10))
    # Croston/SBA: first sale 4 after 2 days (interval 2), then 6 after 3 more
    size, interval = 4 + 0.1 * (6 - 4), 2 + 0.1 * (3 - 2)
    assert _run("sba", [0, 4, 0, 0, 6]) == pytest.approx(0.95 * size / interval)
    # TSB: probability smoothed every day (beta 0.05), size on sales only
    prob = 1.0
    for hit in (0, 0, 1):
        prob += 0.05 * (hit - prob)
    assert _run("tsb", [5, 0, 0, 5]) == pytest.approx(prob * 5)


def test_tsb_decays_after_an_item_stops_selling_and_sba_does_not() -> None:
    ys = [3.0] * 30 + [0.0] * 60
    assert _run("tsb", ys) < 0.2 * _run("tsb", ys[:30])
    assert _run("sba", ys) == pytest.approx(_run("sba", ys[:30]))


def test_seasonal_naive_repeats_last_week() -> None:
    m = make("snaive")
    for t, y in enumerate(range(14)):
        m.step(float(y), t % 7)
    assert [m.predict(w) for w in range(7)] == [7.0, 8, 9, 10, 11, 12, 13]


def test_weekday_seasonal_smoothing_learns_the_weekend() -> None:
    s = _series(series_values("smooth", 364, seed=3))
    fc = forecast_series(s, 7, "esw").point  # days after a Sunday: Monday … Sunday
    assert fc[5] > 1.4 * fc[0]
    assert fc[6] > 1.4 * fc[2]
    flat = forecast_series(s, 7, "ses").point
    assert np.ptp(flat) == 0


def test_syntetos_boylan_classes() -> None:
    assert sb_class(np.full(100, 5.0)) == "smooth"
    assert sb_class(np.array([1.0, 20.0] * 50)) == "erratic"
    assert sb_class(np.array([0, 0, 0, 2.0] * 25)) == "intermittent"
    assert sb_class(np.array([0, 0, 0, 1.0, 0, 0, 0, 30.0] * 12)) == "lumpy"
    assert sb_class(np.zeros(50)) == "none"


def test_class_table_picks_a_seasonal_method_per_kind_and_auto_picks_a_candidate() -> None:
    smooth = _series(series_values("smooth", 300, seed=1))
    sparse = _series(series_values("intermittent", 300, seed=2))
    assert forecast_series(smooth, 28, "sb").method == "esw"
    assert forecast_series(sparse, 28, "sb").method == "tsbw"
    auto = forecast_series(smooth, 28, "auto")
    assert auto.method in ("esw", "tsbw", "tsb", "sba", "ses", "snaive")
    assert len(auto.point) == 28
    with pytest.raises(ValueError, match="unknown method"):
        forecast_series(smooth, 28, "prophet")


def test_forecast_beats_seasonal_naive_on_its_own_holdout() -> None:
    y = series_values("smooth", 400, seed=7)
    s, actual = _series(y[:372]), y[372:]
    ours = forecast_series(s, 28, "sb").point
    naive = forecast_series(s, 28, "snaive").point
    assert rmsse(s.values, actual, ours) < rmsse(s.values, actual, naive)


def test_forecast_quantiles_bracket_the_demand() -> None:
    y = series_values("smooth", 400, seed=9)
    fc = forecast_series(_series(y[:372]), 28)
    lo, hi = fc.quantile(0.05), fc.quantile(0.95)
    assert np.all(lo <= fc.point)
    assert np.all(fc.point <= hi)
    inside = np.mean((y[372:] >= lo) & (y[372:] <= hi))
    assert inside >= 0.75  # a 90 % band on 28 days of Poisson demand


def test_naive_scale_starts_at_the_first_sale() -> None:
    assert naive_scale(np.array([0, 0, 0, 2.0, 4.0, 4.0])) == pytest.approx((4 + 0) / 2)
    assert math.isnan(naive_scale(np.zeros(5)))


def test_wrmsse_weights_by_dollar_sales_of_the_last_28_training_days() -> None:
    a_train = np.array([1.0, 2.0] * 20)  # scale 1; 28-day units 42
    b_train = np.array([0.0, 3.0] * 20)  # scale 9; 28-day units 42
    pa, pb = np.full(40, 1.0), np.full(40, 3.0)  # dollars 42 vs 126: weights 1/4, 3/4
    act_a, act_b = np.array([2.0, 2.0]), np.array([3.0, 3.0])
    fc_a, fc_b = np.array([0.0, 0.0]), np.array([0.0, 0.0])  # rmsse a = 2, b = 1
    got = wrmsse([a_train, b_train], [pa, pb], [act_a, act_b], [fc_a, fc_b])
    assert got == pytest.approx(0.25 * 2 + 0.75 * 1)


@pytest.mark.parametrize(
    ("mean", "var"), [(0.3, 0.3), (4.0, 4.0), (4.0, 12.0), (60.0, 400.0), (900.0, 5000.0)]
)
def test_count_distribution_has_the_asked_mean_and_variance(mean: float, var: float) -> None:
    d = CountDistribution(mean, var)
    ks = np.arange(int(mean + 40 * math.sqrt(var) + 40))
    pmf = np.diff(np.concatenate([[0.0], [d.cdf(int(k)) for k in ks]]))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-6)
    m = float((ks * pmf).sum())
    assert m == pytest.approx(mean, rel=1e-4)
    assert float(((ks - m) ** 2 * pmf).sum()) == pytest.approx(var, rel=1e-3)
    assert d.expected_shortage(0) == pytest.approx(mean)
    shortages = [d.expected_shortage(s) for s in range(0, int(mean * 3) + 5, max(1, int(mean) // 5))]
    assert all(a >= b for a, b in itertools.pairwise(shortages))
    assert d.quantile(0.5) <= d.quantile(0.9) <= d.quantile(0.99)


def test_count_distribution_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="finite"):
        CountDistribution(-1.0, 1.0)
    with pytest.raises(ValueError, match="quantile level"):
        CountDistribution(1.0, 1.0).quantile(1.0)


def _store_series(n: int = 300) -> list[Series]:
    out = []
    for k, kind in enumerate(("smooth", "smooth", "intermittent", "intermittent")):
        y = series_values(kind, n, seed=20 + k)
        s = Series(f"CAT{k % 2}_{k}", f"S{k % 2}", MONDAY, y, np.full(n, 2.0), np.zeros(n), np.zeros(n))
        out.append(s)
    return out


def test_global_model_learns_levels_and_weekdays_across_series() -> None:
    series = _store_series()
    model = GlobalBoosting(14).fit([s.head(280) for s in series])
    smooth = model.predict(series[0].head(280))
    sparse = model.predict(series[2].head(280))
    assert smooth.shape == (14,)
    assert np.all(smooth >= 0)
    assert 5 < smooth.mean() < 12  # about 8 a day
    assert 0.1 < sparse.mean() < 1.2  # about 0.4 a day
    combo = forecast_series(series[0].head(280), 14, "combo", model=model)
    local = forecast_series(series[0].head(280), 14, "sb")
    np.testing.assert_allclose(combo.point, (smooth + local.point) / 2)


def test_global_model_refuses_misuse() -> None:
    with pytest.raises(ValueError, match="horizon 0"):
        GlobalBoosting(0)
    with pytest.raises(RuntimeError, match="before fit"):
        GlobalBoosting(7).predict(_store_series()[0])
    with pytest.raises(ValueError, match="120 days"):
        GlobalBoosting(7).fit([s.head(60) for s in _store_series()])
    with pytest.raises(ValueError, match="needs a fitted global model"):
        forecast_series(_store_series()[0], 7, "gbm")
