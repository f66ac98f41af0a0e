"""Health score and real wear: known answers worked out by hand, and bad input refused
or flagged as a sensor fault."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from bohsense.models.errors import InputError
from bohsense.models.health import (
    Baseline,
    book_value_share,
    features_from_diagnosis,
    health_score,
    iso_zone,
    learn_baseline,
    real_wear,
)


def _baseline() -> Baseline:
    rows = [
        {"kurtosis": 3.0 + d, "crest_factor": 4.0 + d, "envelope_bpfo_db": 4.0 + 10 * d,
         "envelope_bpfi_db": 3.0, "envelope_bsf_db": 3.0, "temperature_c": -20.0 + 10 * d,
         "duty_cycle": 0.40 + d / 5, "velocity_rms_mm_s": 1.0}
        for d in (-0.1, 0.1) * 30
    ]  # fmt: skip
    return learn_baseline(rows)


def test_baseline_is_the_median_and_the_scaled_mad() -> None:
    b = _baseline()
    assert b.samples == 60
    assert b.median["kurtosis"] == pytest.approx(3.0)
    assert b.spread["kurtosis"] == pytest.approx(1.4826 * 0.1)
    assert b.median["temperature_c"] == pytest.approx(-20.0)
    assert b.spread["temperature_c"] == pytest.approx(1.4826)
    assert b.spread["envelope_bpfi_db"] == pytest.approx(0.25)  # constant: floored at the resolution
    assert "velocity_rms_mm_s" not in b.median  # judged against ISO zones, not a baseline
    assert Baseline.from_dict(b.to_dict()) == b


def test_baseline_leaves_sensor_faults_out_and_needs_enough_values() -> None:
    rows = [{"kurtosis": 3.0}] * 25 + [{"kurtosis": math.nan}, {"kurtosis": 0.2}]
    assert learn_baseline(rows).median["kurtosis"] == 3.0
    with pytest.raises(InputError, match="20 good values"):
        learn_baseline([{"kurtosis": 3.0}] * 19)
    with pytest.raises(InputError, match=r"unknown field.*'rpm'"):
        learn_baseline([{"kurtosis": 3.0, "rpm": 1500.0}])


@pytest.mark.parametrize(
    ("v", "machine", "zone", "points"),
    [
        (0.56, "class_II", "A", 2.5),  # 5 × 0.56 / 1.12
        (1.96, "class_II", "B", 12.5),  # halfway between 1.12 and 2.8
        (4.95, "class_II", "C", 35.0),  # halfway between 2.8 and 7.1
        (5.4, "group2_rigid", "D", 60.0),  # a third of the way from 4.5 to 7.2
        (100.0, "group2_rigid", "D", 80.0),
    ],
)
def test_iso_zone_points(v: float, machine: str, zone: str, points: float) -> None:
    z, p = iso_zone(v, machine)
    assert z == zone
    assert p == pytest.approx(points)


def test_a_healthy_machine_scores_near_100_and_nothing_drives_it() -> None:
    b = _baseline()
    h = health_score({"velocity_rms_mm_s": 0.56, "kurtosis": 3.0, "crest_factor": 4.0,
                      "envelope_bpfo_db": 4.0}, b, kind="rotating")  # fmt: skip
    assert h.score == pytest.approx(97.5)
    assert [c.name for c in h.drivers] == ["iso_zone"]
    assert h.sensor_faults == {}
    assert h.coverage == 1.0


def test_a_bearing_fault_costs_the_points_of_each_named_contribution() -> None:
    b = _baseline()
    k = 3.0 + b.spread["kurtosis"] * 6.5  # robust z 6.5: halfway from 3 to 10
    h = health_score(
        {"velocity_rms_mm_s": 4.95, "kurtosis": k, "envelope_bpfo_db": 13.0, "envelope_bpfi_db": 3.0},
        b,
        kind="rotating",
        detector_score=0.9,
        rul_days=135.0,
    )
    points = {c.name: c.points for c in h.contributions}
    assert points == {
        "iso_zone": 35.0,  # zone C, halfway
        "envelope_bpfo": 17.5,  # 9 dB above its 4 dB baseline: 35 × (9 - 3) / 12
        "kurtosis": 7.5,
        "detector": 20.0,  # 25 × 0.4 / 0.5
        "remaining_life": 15.0,  # 60 × (1 - 135 / 180)
    }
    assert h.score == 5.0
    assert h.drivers[0].name == "iso_zone"
    bpfo = next(c for c in h.contributions if c.name == "envelope_bpfo")
    assert bpfo.value == pytest.approx(9.0)


def test_the_score_is_floored_at_zero() -> None:
    h = health_score(
        {"velocity_rms_mm_s": 50.0}, _baseline(), kind="rotating", detector_score=1.0, rul_days=0.0
    )
    assert sum(c.points for c in h.contributions) == 165.0
    assert h.score == 0.0


def test_a_warm_long_running_freezer() -> None:
    b = _baseline()
    h = health_score({"temperature_c": -20.0 + 4 * 1.4826, "duty_cycle": 0.40 + 6 * b.spread["duty_cycle"]},
                     b, kind="refrigeration")  # fmt: skip
    points = {c.name: c.points for c in h.contributions}
    assert points == {"temperature": 20.0, "duty_cycle": 30.0}  # z 4 of 2..6, z 6
    assert h.score == 50.0


def test_nan_and_impossible_values_are_sensor_faults_not_wear() -> None:
    b = _baseline()
    h = health_score(
        {"velocity_rms_mm_s": 0.56, "kurtosis": math.nan, "crest_factor": 0.3}, b, kind="rotating"
    )
    assert set(h.sensor_faults) == {"kurtosis", "crest_factor"}
    assert "not finite" in h.sensor_faults["kurtosis"]
    assert "outside the possible" in h.sensor_faults["crest_factor"]
    assert h.score == pytest.approx(97.5)  # only the good velocity is judged
    assert h.coverage == pytest.approx(1 / 3, abs=1e-3)
    every = health_score(
        {"temperature_c": 400.0, "duty_cycle": math.inf}, b, kind="refrigeration", detector_score=1.0
    )
    assert every.score is None
    assert set(every.sensor_faults) == {"temperature_c", "duty_cycle"}


@pytest.mark.parametrize(
    ("features", "kwargs", "message"),
    [
        ({"kurtosis": 3.0}, {"kind": "rotating"}, "needs velocity_rms_mm_s"),
        ({"temperature_c": -18.0}, {"kind": "refrigeration"}, "needs duty_cycle"),
        ({"velocity_rms_mm_s": 1.0, "rpm": 1500.0}, {"kind": "rotating"}, "unknown field"),
        ({"velocity_rms_mm_s": 1.0}, {"kind": "boiler"}, "kind 'boiler'"),
        ({"velocity_rms_mm_s": 1.0}, {"kind": "rotating", "machine_class": "class_V"}, "machine_class"),
        ({"velocity_rms_mm_s": "fast"}, {"kind": "rotating"}, "expected a number"),
        ({"velocity_rms_mm_s": 1.0}, {"kind": "rotating", "detector_score": 1.5}, "detector_score"),
        ({"velocity_rms_mm_s": 1.0}, {"kind": "rotating", "rul_days": -3.0}, "rul_days"),
    ],
)
def test_bad_input_is_refused_with_its_reason(features: dict, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        health_score(features, _baseline(), **kwargs)


def test_a_feature_without_a_learnt_baseline_is_refused() -> None:
    b = learn_baseline([{"kurtosis": 3.0}] * 30)
    with pytest.raises(InputError, match="nothing learnt for crest_factor"):
        health_score({"velocity_rms_mm_s": 1.0, "crest_factor": 4.0}, b, kind="rotating")
    with pytest.raises(InputError, match="spread above 0"):
        Baseline.from_dict({"median": {"kurtosis": 3.0}, "spread": {"kurtosis": 0.0}, "samples": 30})
    with pytest.raises(InputError, match="unknown field"):
        Baseline.from_dict({"median": {}, "spread": {}, "samples": 1, "extra": 1})


def test_a_diagnosis_feeds_the_score() -> None:
    from bohsense.models.synthetic import bearing_signal
    from bohsense.models.vibration import diagnose

    geometry = (9, 0.3126, 1.537, 0.0)
    rows = []
    for seed in range(20):
        x = bearing_signal("normal", fs=12000, rpm=1797, geometry=geometry, seconds=0.4, seed=seed)
        rows.append(features_from_diagnosis(diagnose(x, fs=12000, rpm=1797, geometry=geometry).evidence))
    baseline = learn_baseline(rows)
    x = bearing_signal("outer_race", fs=12000, rpm=1797, geometry=geometry, seconds=0.4, seed=99)
    feats = features_from_diagnosis(diagnose(x, fs=12000, rpm=1797, geometry=geometry).evidence)
    h = health_score({"velocity_rms_mm_s": 1.0, **feats}, baseline, kind="rotating")
    assert h.drivers[0].name == "envelope_bpfo"
    assert h.drivers[0].points == 35.0
    with pytest.raises(InputError, match="diagnosis evidence"):
        features_from_diagnosis({"bearing": {}})


PURCHASE = date(2020, 1, 1)
FIVE_YEARS = PURCHASE + timedelta(days=round(5 * 365.25))


def test_book_value_straight_line_and_declining_balance() -> None:
    assert book_value_share(PURCHASE, FIVE_YEARS, life_years=10) == pytest.approx(0.5, abs=1e-3)
    assert book_value_share(PURCHASE, FIVE_YEARS, life_years=10, salvage_share=0.1) == pytest.approx(
        0.55, abs=1e-3
    )
    # double declining: 20 % a year of what is left
    assert book_value_share(PURCHASE, FIVE_YEARS, life_years=10, method="declining_balance") == pytest.approx(
        0.8**5, abs=1e-3
    )
    assert book_value_share(
        PURCHASE, FIVE_YEARS, life_years=10, method="declining_balance", rate=0.3
    ) == pytest.approx(0.7**5, abs=1e-3)
    assert book_value_share(PURCHASE, FIVE_YEARS, life_years=4, salvage_share=0.05) == 0.05  # written off
    with pytest.raises(InputError, match="before the purchase date"):
        book_value_share(FIVE_YEARS, PURCHASE, life_years=10)
    with pytest.raises(InputError, match="method 'sum_of_years'"):
        book_value_share(PURCHASE, FIVE_YEARS, life_years=10, method="sum_of_years")
    with pytest.raises(InputError, match="life_years"):
        book_value_share(PURCHASE, FIVE_YEARS, life_years=math.nan)
    with pytest.raises(InputError, match="rul_days"):
        real_wear(PURCHASE, FIVE_YEARS, life_years=10, rul_days="soon")  # type: ignore[arg-type]


def test_real_wear_from_remaining_life_wears_faster_than_the_books() -> None:
    w = real_wear(PURCHASE, FIVE_YEARS, life_years=10, rul_days=365.25)
    assert w.basis == "remaining_life"
    assert w.remaining_life_share == pytest.approx(1 / 6, abs=1e-3)  # 1 year left of 6
    assert w.difference == pytest.approx(1 / 6 - 0.5, abs=2e-3)
    assert "faster than it is written off" in w.explanation


def test_real_wear_from_the_health_trend() -> None:
    # 10 points a year down, 50 today: 5 years left of 10, as the books say
    history = [(FIVE_YEARS - timedelta(days=round(365.25 * y)), 50 + 10 * y) for y in (0, 0.5, 1, 1.5, 2, 3)]
    w = real_wear(PURCHASE, FIVE_YEARS, life_years=10, health_history=history)
    assert w.basis == "health_trend"
    assert w.remaining_years == pytest.approx(5.0, abs=0.01)
    assert w.remaining_life_share == pytest.approx(0.5, abs=1e-3)
    assert "in line with its books" in w.explanation
    flat = [(FIVE_YEARS - timedelta(days=30 * i), 90.0) for i in range(6)]
    w = real_wear(PURCHASE, FIVE_YEARS, life_years=10, health_history=flat)
    assert w.remaining_life_share is None
    assert "not declining" in w.explanation
    with pytest.raises(InputError, match=r"not a number in 0\.\.100"):
        real_wear(PURCHASE, FIVE_YEARS, life_years=10, health_history=[(FIVE_YEARS, math.nan)])
