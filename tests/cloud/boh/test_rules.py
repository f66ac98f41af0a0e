"""The simple rule engines on their own (pure: no database)."""

from __future__ import annotations

from bohsense.cloud.boh.rules import (
    ConditionCleared,
    ConditionFault,
    ConditionParams,
    ConditionState,
    ReorderPoint,
    StockInputs,
    ThresholdCondition,
)

S = 10**9
P = ConditionParams("a", "hot", "temp_c", limit=10, clear_below=5, min_duration_s=10)


def run(points: list[tuple[int, float]], params: ConditionParams = P) -> tuple[ConditionState, list[object]]:
    state, events = ThresholdCondition().step(params, ConditionState(), [(t * S, v) for t, v in points])
    return state, list(events)


def test_fault_at_exactly_min_duration_with_evidence() -> None:
    state, events = run([(0, 11), (5, 15), (10, 12)])
    (fault,) = events
    assert isinstance(fault, ConditionFault)
    assert fault.evidence["max_value"] == 15
    assert fault.evidence["duration_s"] == 10
    assert state.phase == "fault"


def test_a_reading_at_the_limit_is_not_over() -> None:
    state, events = run([(0, 11), (5, 10), (10, 11)])
    assert events == []
    assert state.phase == "over"
    assert state.over_since_ns == 10 * S


def test_zero_duration_fires_and_clears_at_once() -> None:
    params = ConditionParams("a", "hot", "temp_c", limit=10, clear_below=5, min_duration_s=0)
    _, events = run([(0, 11), (1, 4)], params)
    assert [type(e) for e in events] == [ConditionFault, ConditionCleared]


def test_stale_points_are_skipped() -> None:
    engine = ThresholdCondition()
    state, _ = engine.step(P, ConditionState(), [(100 * S, 1.0)])
    again, events = engine.step(P, state, [(50 * S, 99.0), (100 * S, 99.0)])
    assert (again, events) == (state, [])


def test_reorder_point_quantity_rounds_up_to_packs() -> None:
    rp = ReorderPoint()
    base = dict(site="s", sku="k", location="l", reorder_point=10, target=40, safety_stock=2, as_of_ns=1)
    assert rp.propose(StockInputs(sensed_units=10, pack_size=6, **base)) is None  # type: ignore[arg-type]
    draft = rp.propose(StockInputs(sensed_units=9, pack_size=6, **base))  # type: ignore[arg-type]
    assert draft is not None
    assert draft.quantity == 36  # ceil(31 / 6) = 6 packs
    draft = rp.propose(StockInputs(sensed_units=-2, pack_size=1, **base))  # type: ignore[arg-type]
    assert draft is not None
    assert draft.quantity == 42
