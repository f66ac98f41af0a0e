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


def _edge_envelope_run(bpfi_rise_db: float) -> tuple[list[object], dict[str, object]]:
    """A detector rule fed the edge's features as it sends them (``*_env_bpfi_db``, dB over
    the envelope's floor): 200 normal observations at a few dB, then BPFI rising."""
    import random

    from bohsense.cloud.boh.rules import DetectorCondition, ModelRegistry

    metrics = ("vib_x_velocity_rms_mm_s", "vib_x_env_bpfo_db", "vib_x_env_bpfi_db", "vib_x_env_bsf_db")
    engine = DetectorCondition(ModelRegistry.load())
    params = ConditionParams(
        "a", "anomaly", "", 0, 0, 5, "major", engine="detector", metrics=metrics, model="condition-anomaly"
    )
    rng = random.Random(5)
    state: dict[str, object] = {}
    found: list[object] = []
    for i in range(300):
        f = 0.0 if i < 200 else min(1.0, (i - 200) / 40)
        ts = (i + 1) * 10**9
        points = [
            (ts, "vib_x_velocity_rms_mm_s", 1.2 + rng.gauss(0, 0.05)),
            (ts, "vib_x_env_bpfo_db", 3.0 + rng.gauss(0, 1.5) + 0.3 * bpfi_rise_db * f),
            (ts, "vib_x_env_bpfi_db", 4.0 + rng.gauss(0, 1.5) + bpfi_rise_db * f),
            (ts, "vib_x_env_bsf_db", 2.5 + rng.gauss(0, 1.5) + 0.4 * bpfi_rise_db * f),
        ]
        state, events = engine.step(params, state, points)
        found += events
    return found, state


def test_envelope_features_in_db_diagnose_by_their_difference_from_the_baseline() -> None:
    found, state = _edge_envelope_run(20.0)
    assert found
    assert found[0].kind == "anomaly_detected"
    assert state["fault_type"] == "inner_race"
    diagnosed = [e for e in found if e.fault == "inner_race"]  # type: ignore[attr-defined]
    classes = diagnosed[0].evidence["diagnosis"]["classes"]  # type: ignore[attr-defined]
    bpfi = classes["inner_race"]
    assert bpfi["metric"] == "vib_x_env_bpfi_db"
    # dB over dB: the difference, not a ratio of logarithms
    assert bpfi["db_above_baseline"] == round(bpfi["value"] - bpfi["baseline"], 2) >= 6.0
    assert bpfi["db_above_baseline"] > classes["ball"]["db_above_baseline"]
    assert bpfi["db_above_baseline"] > classes["outer_race"]["db_above_baseline"]


def test_envelope_features_in_db_below_the_gate_leave_the_fault_undiagnosed() -> None:
    found, state = _edge_envelope_run(0.0)
    assert found == []
    assert state["fault_type"] is None
