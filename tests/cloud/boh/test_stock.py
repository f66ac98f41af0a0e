"""Stock levels in event time and the replenishment rule."""

from __future__ import annotations

from bohsense.cloud.boh import BohCore

from .factory import LANE_A, LANE_B, T0, S, batch, units


def level(core: BohCore) -> tuple[float | None, int | None]:
    (stock,) = core.stock_levels()
    return stock.units, stock.as_of_ns


def test_stock_is_the_sum_of_the_lanes_newest_readings(core: BohCore) -> None:
    core.apply_batches([batch(1, [units(LANE_A, 1, 12), units(LANE_B, 1, 8), units(LANE_A, 3, 11)])])
    assert level(core) == (19.0, T0 + 3 * S)


def test_an_older_reading_never_overwrites_newer_state(core: BohCore) -> None:
    core.apply_batches([batch(1, [units(LANE_A, 10, 25)])])
    core.apply_batches([batch(2, [units(LANE_A, 5, 3)])])  # backfilled: older event time
    assert level(core) == (25.0, T0 + 10 * S)
    # inside one batch too, the newest event time wins whatever the order
    core.apply_batches([batch(3, [units(LANE_A, 20, 22), units(LANE_A, 15, 2)])])
    assert level(core) == (22.0, T0 + 20 * S)
    assert core.list_proposals() == []


def test_stock_below_min_opens_one_explained_proposal(core: BohCore) -> None:
    core.apply_batches([batch(1, [units(LANE_A, 1, 20), units(LANE_B, 1, 5)])])
    assert core.list_proposals() == []
    core.apply_batches([batch(2, [units(LANE_A, 2, 3)])])  # 3 + 5 = 8 < min 10
    (p,) = core.list_proposals()
    assert p.state == "proposed"
    assert (p.sku, p.location, p.site) == ("COLA", "aisle-1/shelf-1", "store-t1")
    # sensed 8 at the time it opened: ceil((40 - 8) / 6) * 6 = 36
    assert (p.sensed_units, p.reorder_point, p.target, p.pack_size, p.quantity) == (8.0, 10.0, 40.0, 6, 36)
    e = p.explanation
    assert (e["sensed_units"], e["reorder_point"], e["target"], e["pack_size"], e["packs"]) == (
        8.0,
        10.0,
        40.0,
        6,
        6,
    )
    assert e["safety_stock"] == 4.0
    assert "ceil((40 - 8) / 6)" in e["text"]
    audit = core.audit(entity="replenishment_proposal", entity_id=str(p.id))
    assert [(a.from_state, a.to_state, a.actor) for a in audit] == [(None, "proposed", "system")]
    core.apply_batches([batch(3, [units(LANE_A, 3, 2)])])  # still low: no second proposal
    core.apply_batches([batch(4, [units(LANE_B, 4, 1)])])
    (same,) = core.list_proposals()
    # not approved yet: it follows the stock, 2 + 1 = 3: ceil((40 - 3) / 6) * 6 = 42
    assert (same.id, same.sensed_units, same.quantity) == (p.id, 3.0, 42)


def test_a_new_proposal_opens_only_after_the_previous_is_closed(core: BohCore) -> None:
    core.apply_batches([batch(1, [units(LANE_A, 1, 2)])])
    (first,) = core.list_proposals()
    core.approve_proposal(first.id, actor="planner")
    core.apply_batches([batch(2, [units(LANE_A, 2, 1)])])
    assert len(core.list_proposals()) == 1  # approved is still open
    core.transition_proposal(first.id, "ordered", actor="planner")
    core.apply_batches([batch(3, [units(LANE_A, 3, 1)])])
    assert len(core.list_proposals()) == 1  # ordered is still open: the goods are on their way
    core.transition_proposal(first.id, "received", actor="store")
    core.apply_batches([batch(5, [units(LANE_A, 5, 1)])])
    proposals = core.list_proposals()
    assert [p.state for p in proposals] == ["proposed", "received"]
    assert proposals[0].quantity == 42  # ceil(39 / 6) * 6
    core.reject_proposal(proposals[0].id, actor="planner", note="delivery due")
    core.apply_batches([batch(6, [units(LANE_A, 6, 20)])])  # back above min: nothing
    assert len(core.list_proposals(state="proposed")) == 0


def test_a_location_exactly_at_min_needs_no_order(core: BohCore) -> None:
    core.apply_batches([batch(1, [units(LANE_A, 1, 10)])])
    assert core.list_proposals() == []
    assert core.stock_levels()[0].below_reorder_point is False


def test_stock_filters(core: BohCore) -> None:
    assert len(core.stock_levels(site="store-t1", sku="COLA")) == 1
    assert core.stock_levels(sku="NOPE") == []
    (unsensed,) = core.stock_levels()
    assert (unsensed.units, unsensed.as_of_ns) == (None, None)


def test_non_finite_values_never_reach_stock_or_rules(core: BohCore) -> None:
    from .factory import LIMIT, vib

    core.apply_batches([batch(1, [units(LANE_A, 1, 20)])])
    core.apply_batches([batch(2, [units(LANE_A, 2, float("nan")), units(LANE_A, 3, float("-inf"))])])
    assert level(core) == (20.0, T0 + S)
    core.apply_batches([batch(3, [vib(t, float("inf")) for t in range(0, 100, 5)] + [vib(200, LIMIT - 1)])])
    assert core.list_alerts() == []
    assert core.list_proposals() == []
