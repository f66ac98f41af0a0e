"""The check suite every registered detector passes (in the manner of river's checks)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bohsense.models.detect import (
    SENSOR_FAULT,
    Detector,
    SeriesDetector,
    StateError,
    Threshold,
    detector_kinds,
    dumps,
    from_state,
    loads,
)
from bohsense.models.synthetic import anomaly_series

KINDS = detector_kinds()


def make(kind: str) -> Detector:
    return from_state({**SeriesDetector().to_state(), "kind": kind, "params": _params(kind)})


def _params(kind: str) -> dict[str, object]:
    parts = {"series": ["spike", "level", "variance", "stuck"], "spike": ["spike"],
             "level_shift": ["level"], "variance": ["variance"], "stuck": ["stuck"]}[kind]  # fmt: skip
    return {**SeriesDetector().to_state()["params"], "parts": parts}


def run(det: Detector, values: list[float]) -> list[float]:
    out = []
    for v in values:
        x = {"value": v}
        out.append(det.score_one(x))
        det.learn_one(x)
    return out


def series(seed: int = 7, n: int = 1500) -> list[float]:
    return anomaly_series(seed, n, events=3).values.tolist()


def test_every_kind_is_checked() -> None:
    assert set(KINDS) == {"series", "spike", "level_shift", "variance", "stuck"}


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic(kind: str) -> None:
    assert run(make(kind), series()) == run(make(kind), series())


@pytest.mark.parametrize("kind", KINDS)
def test_causal_prefix_scores_are_the_prefix_of_scores(kind: str) -> None:
    full = run(make(kind), series())
    changed = series()[:900] + [v * -3.0 + 1e6 for v in series()[900:]]
    assert run(make(kind), changed)[:900] == full[:900]


@pytest.mark.parametrize("kind", KINDS)
def test_score_one_does_not_learn(kind: str) -> None:
    det = make(kind)
    run(det, series()[:300])
    before = dumps(det)
    for v in (1e9, -1e9, 0.0, math.nan):
        det.score_one({"value": v})
    assert dumps(det) == before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scores_bounded(kind: str, seed: int) -> None:
    values = [*series(seed), 1e300, -1e300, 5e-324, 0.0, 1e300]
    scores = run(make(kind), values)
    assert all(0.0 <= s <= 1.0 and math.isfinite(s) for s in scores)


@pytest.mark.parametrize("kind", KINDS)
def test_non_finite_is_a_sensor_fault_and_not_learnt(kind: str) -> None:
    det = make(kind)
    run(det, series()[:400])
    state = dumps(det)
    for bad in (math.nan, math.inf, -math.inf, 1.7e308, -1e301):
        assert det.score_one({"value": bad}) == SENSOR_FAULT
        det.learn_one({"value": bad})
    det.learn_one({"other": 1.0})  # a missing feature is a fault too, never a crash
    assert det.score_one({}) == SENSOR_FAULT
    assert dumps(det) == state


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("level", [0.0, 1.0, -273.15, 1e12])
def test_constant_series_is_quiet_and_a_later_change_is_seen(kind: str, level: float) -> None:
    det = make(kind)
    scores = run(det, [level] * 500)
    assert max(scores) < 0.5
    changed = level + 1.0 + abs(level) * 0.01
    if kind in ("series", "spike"):
        assert det.score_one({"value": changed}) > 0.9


@pytest.mark.parametrize("kind", KINDS)
def test_state_round_trip_continues_identically(kind: str) -> None:
    values = series()
    det = make(kind)
    run(det, values[:700])
    data = dumps(det)
    json.loads(data)  # strict JSON
    clone = loads(data)
    assert type(clone) is type(det)
    assert run(clone, values[700:]) == run(det, values[700:])


def test_bad_state_is_refused_with_its_reason() -> None:
    with pytest.raises(StateError, match="unknown detector kind 'nope'"):
        from_state({"kind": "nope"})
    with pytest.raises(StateError, match="not JSON"):
        loads(b"\xff{")
    with pytest.raises(StateError, match="bad state for detector 'series'"):
        from_state({"kind": "series", "params": {}})


def test_each_component_fires_on_its_anomaly() -> None:
    rng = np.random.default_rng(5)
    base = rng.standard_normal(600).tolist()
    spike = [*base[:400], base[400] + 12, *base[401:]]
    level = base[:400] + [v + 6 for v in base[400:]]
    variance = base[:400] + [v * 6 for v in base[400:]]
    stuck = base[:400] + [base[399]] * 200
    for kind, values, lo, hi in (
        ("spike", spike, 400, 401), ("level_shift", level, 400, 420),
        ("variance", variance, 400, 430), ("stuck", stuck, 400, 420),
    ):  # fmt: skip
        scores = run(make(kind), values)
        assert max(scores[lo:hi]) > 0.9, kind
        assert max(scores[30:399]) < 0.5, kind


def test_threshold_keeps_the_decision_apart_with_hysteresis() -> None:
    t = Threshold(on=0.6, off=0.3)
    assert [t.decide(s) for s in (0.5, 0.7, 0.4, 0.29, 0.5)] == [False, True, True, False, False]
    with pytest.raises(ValueError, match="off <= on"):
        Threshold(on=0.2, off=0.5)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=120))
def test_any_floats_give_bounded_scores_and_strict_json_state(values: list[float]) -> None:
    det = make("series")
    warm = [float(i % 7) for i in range(40)]  # past warm-up, so every component computes
    for v in warm + values:
        s = det.score_one({"value": v})
        assert 0.0 <= s <= 1.0
        det.learn_one({"value": v})
    assert run(loads(dumps(det)), [1.0, 2.0]) == run(det, [1.0, 2.0])
