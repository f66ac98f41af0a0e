"""Classes, order-up-to levels and the simulation of both policies on generated demand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from bohsense.models.forecast import CountDistribution, Series
from bohsense.models.replenish import (
    ForecastPolicy,
    MovingAveragePolicy,
    PolicyError,
    PolicyTimes,
    abc_classes,
    default_class_targets,
    fill_rate_level,
    simulate,
    xyz_class,
)
from tests.models.demand import series_values


def test_abc_by_cumulative_value_share() -> None:
    got = abc_classes({"a": 70.0, "b": 15.0, "c": 10.0, "d": 5.0})
    assert got == {"a": "A", "b": "A", "c": "B", "d": "C"}
    assert set(abc_classes({"x": 0.0, "y": 0.0}).values()) <= {"A", "B", "C"}


def test_xyz_by_weekly_variability() -> None:
    assert xyz_class(np.full(70, 3.0)) == "X"
    assert xyz_class(np.array([0.0] * 7 + [5.0] * 7 + [0.0] * 14 + [9.0] * 7)) == "Z"
    assert xyz_class(np.zeros(70)) == "Z"


def test_fill_rate_level_meets_the_target_in_expectation_and_grows_with_it() -> None:
    mu_p, var_p, mu_l, var_l, mu_r = 30.0, 90.0, 20.0, 60.0, 10.0
    levels = [fill_rate_level(mu_p, var_p, mu_l, var_l, mu_r, t) for t in (0.8, 0.9, 0.95, 0.98, 0.995)]
    assert levels == sorted(levels)
    assert levels[0] > 0
    dp, dl = CountDistribution(mu_p, var_p), CountDistribution(mu_l, var_l)
    for t, s in zip((0.8, 0.9, 0.95, 0.98, 0.995), levels, strict=True):
        shortage = dp.expected_shortage(s) - dl.expected_shortage(s)
        assert 1 - shortage / mu_r >= t or s == dp.quantile(t)
        below = dp.expected_shortage(s - 1) - dl.expected_shortage(s - 1)
        assert 1 - below / mu_r < t  # the smallest such level
    assert fill_rate_level(0.0, 0.0, 0.0, 0.0, 0.0, 0.98) == 0


def test_fill_rate_level_is_capped_by_the_target_quantile_when_review_demand_is_tiny() -> None:
    s = fill_rate_level(1.0, 6.0, 0.99, 5.9, 0.01, 0.98)
    assert s == CountDistribution(1.0, 6.0).quantile(0.98)


def test_policies_refuse_impossible_service_levels() -> None:
    t = PolicyTimes(2, 1)
    with pytest.raises(PolicyError, match=r"service level 1\.0"):
        ForecastPolicy(t, 1.0)
    with pytest.raises(PolicyError, match="service level 0"):
        MovingAveragePolicy(t, 0)


def test_forecast_policy_level_follows_demand() -> None:
    t = PolicyTimes(2, 1)
    low, high = ForecastPolicy(t, 0.98), ForecastPolicy(t, 0.98)
    for d, y in enumerate(series_values("smooth", 200, seed=4)):
        low.observe(float(y), d % 7)
        high.observe(float(y) * 5, d % 7)
    assert 3 * 6 < low.level(0) < high.level(0)


def _series(kind: str, seed: int, item: str) -> Series:
    y = series_values(kind, 500, seed)
    n = len(y)
    return Series(item, "S1", dt.date(2020, 1, 6), y, np.full(n, 2.0), np.zeros(n), np.zeros(n))


def test_simulation_meets_the_target_and_reports_both_policies() -> None:
    series = [_series("smooth", 1, "I1"), _series("smooth", 2, "I2"), _series("intermittent", 3, "I3")]
    short = Series("I4", "S1", dt.date(2020, 1, 6), np.ones(100), np.ones(100), np.zeros(100), np.zeros(100))
    r = simulate([*series, short], lead_time=2, review_days=1, service_level=0.95, warmup=120)
    assert r["series_shorter_than_warmup"] == 1
    assert r["series"] == 3
    assert r["days_after_warmup"] == 3 * 380
    assert isinstance(r["fill_rate"], float)
    assert r["fill_rate"] >= 0.95
    base = r["baseline"]
    assert isinstance(base, dict)
    assert 0 < base["fill_rate"] <= 1
    for key in ("avg_on_hand_units", "stockout_day_share", "orders", "per_class"):
        assert key in r
        assert key in base
    per = r["per_class"]
    assert isinstance(per, dict)
    assert {"A", "C"} <= set(per)
    assert sum(per[c]["series"] for c in "ABC" if c in per) == 3
    assert r["baseline_ladder"]
    assert r["class_targets"] == default_class_targets(0.95)


def test_simulation_refuses_bad_parameters() -> None:
    s = [_series("smooth", 1, "I1")]
    with pytest.raises(PolicyError, match="warm-up"):
        simulate(s, lead_time=2, review_days=1, service_level=0.98, warmup=5)
    with pytest.raises(PolicyError, match="longer than the warm-up"):
        simulate(s, lead_time=2, review_days=1, service_level=0.98, warmup=600)
    with pytest.raises(PolicyError, match="class target Q"):
        simulate(s, lead_time=2, review_days=1, service_level=0.98, warmup=100, class_targets={"Q": 0.9})
    with pytest.raises(PolicyError, match="lead time -2"):
        simulate(s, lead_time=-2, review_days=1, service_level=0.98, warmup=100)
