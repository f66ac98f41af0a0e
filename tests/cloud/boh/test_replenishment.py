"""The replenishment proposal from open to received: one open order per SKU and location,
on-order stock, a quantity the planner can change, a proposal that follows falling stock,
and safety stock."""

from __future__ import annotations

import pytest

from bohsense.cloud.boh import PROPOSAL, BohCore, CatalogError, InvalidTransition, InvalidValue, StateConflict
from bohsense.cloud.boh.rules import ReorderPoint, StockInputs

from .factory import LANE_A, batch, catalog, units


def low(core: BohCore, seq: int, value: float) -> None:
    core.apply_batches([batch(seq, [units(LANE_A, seq, value)])])


def test_ordering_does_not_open_a_second_proposal(core: BohCore) -> None:
    low(core, 1, 2)
    (p,) = core.list_proposals()
    core.approve_proposal(p.id, actor="planner")
    core.transition_proposal(p.id, "ordered", actor="planner")
    for seq in range(2, 6):  # heartbeats of the still-empty lane while the order is on its way
        low(core, seq, 2)
    (still,) = core.list_proposals()
    assert (still.id, still.state) == (p.id, "ordered")
    assert "ordered" in PROPOSAL.open


def test_received_closes_the_order_and_the_next_low_stock_opens_a_new_one(core: BohCore) -> None:
    low(core, 1, 2)
    (p,) = core.list_proposals()
    core.approve_proposal(p.id, actor="planner")
    core.transition_proposal(p.id, "ordered", actor="planner")
    low(core, 2, 30)  # the goods are on the shelf
    assert core.transition_proposal(p.id, "received", actor="store").state == "received"
    low(core, 3, 31)
    assert len(core.list_proposals()) == 1
    low(core, 4, 3)  # sold down again: a new order
    new, old = core.list_proposals()
    assert (new.state, old.state) == ("proposed", "received")
    trail = [(a.from_state, a.to_state) for a in core.audit(entity=PROPOSAL.entity, entity_id=str(p.id))]
    assert trail == [
        (None, "proposed"),
        ("proposed", "approved"),
        ("approved", "ordered"),
        ("ordered", "received"),
    ]


def test_an_order_can_be_cancelled_and_then_a_new_proposal_opens(core: BohCore) -> None:
    low(core, 1, 2)
    (p,) = core.list_proposals()
    core.approve_proposal(p.id, actor="planner")
    core.transition_proposal(p.id, "ordered", actor="planner")
    assert (
        core.transition_proposal(p.id, "cancelled", actor="planner", note="supplier out").state == "cancelled"
    )
    low(core, 2, 2)
    assert [x.state for x in core.list_proposals()] == ["proposed", "cancelled"]
    with pytest.raises(InvalidTransition):
        core.transition_proposal(p.id, "received", actor="store")


def test_on_order_counts_against_the_reorder_point() -> None:
    rp = ReorderPoint()
    base = dict(site="s", sku="k", location="l", reorder_point=10, target=40, safety_stock=2, as_of_ns=1)
    assert rp.propose(StockInputs(sensed_units=8, pack_size=6, on_order=6, **base)) is None  # type: ignore[arg-type]
    draft = rp.propose(StockInputs(sensed_units=2, pack_size=6, on_order=6, **base))  # type: ignore[arg-type]
    assert draft is not None
    # position 2 + 6 = 8: ceil((40 - 8) / 6) * 6 = 36
    assert draft.quantity == 36
    assert (draft.explanation["on_order"], draft.explanation["position"]) == (6, 8)
    assert "sensed 2 + on order 6 = 8 < reorder point 10" in draft.explanation["text"]


def test_the_planner_changes_the_quantity_and_it_sticks(core: BohCore) -> None:
    low(core, 1, 8)
    (p,) = core.list_proposals()
    assert (p.quantity, p.quantity_source) == (36, "rule")
    changed = core.set_proposal_quantity(p.id, 48, actor="planner", note="promo next week")
    assert (changed.quantity, changed.quantity_source, changed.state) == (48, "planner", "proposed")
    assert changed.explanation["rule_quantity"] == 36
    assert "planner set 48" in changed.explanation["text"]
    low(core, 2, 1)  # stock falls further: the planner's quantity is kept
    assert core.get_proposal(p.id).quantity == 48
    (entry,) = [a for a in core.audit(entity=PROPOSAL.entity, entity_id=str(p.id)) if a.actor == "planner"]
    assert entry.detail == {"quantity": 48, "was": 36, "note": "promo next week"}


def test_a_quantity_is_whole_packs_and_positive(core: BohCore) -> None:
    low(core, 1, 8)
    (p,) = core.list_proposals()
    before = len(core.audit())
    with pytest.raises(InvalidValue, match="10 is not a whole number of packs of 6"):
        core.set_proposal_quantity(p.id, 10, actor="planner")
    with pytest.raises(InvalidValue, match="at least one pack"):
        core.set_proposal_quantity(p.id, 0, actor="planner")
    assert core.get_proposal(p.id).quantity == 36
    assert len(core.audit()) == before


def test_approve_with_a_quantity_sets_it_in_the_same_step(core: BohCore) -> None:
    low(core, 1, 8)
    (p,) = core.list_proposals()
    with pytest.raises(InvalidValue):
        core.approve_proposal(p.id, actor="planner", quantity=7)
    assert core.get_proposal(p.id).state == "proposed"  # refused as a whole
    approved = core.approve_proposal(p.id, actor="planner", quantity=24)
    assert (approved.state, approved.quantity, approved.quantity_source) == ("approved", 24, "planner")


def test_the_quantity_is_fixed_once_ordered(core: BohCore) -> None:
    low(core, 1, 8)
    (p,) = core.list_proposals()
    core.approve_proposal(p.id, actor="planner")
    core.transition_proposal(p.id, "ordered", actor="planner")
    with pytest.raises(StateConflict, match=r"\(ordered\): the quantity can change only while") as info:
        core.set_proposal_quantity(p.id, 48, actor="planner")
    assert info.value.reason == "quantity-fixed"


def test_an_unapproved_proposal_follows_falling_stock(core: BohCore) -> None:
    low(core, 1, 8)
    (p,) = core.list_proposals()
    assert p.quantity == 36
    low(core, 2, 2)  # ceil((40 - 2) / 6) * 6 = 42
    followed = core.get_proposal(p.id)
    assert (followed.quantity, followed.sensed_units) == (42, 2.0)
    assert "ceil((40 - 2) / 6)" in followed.explanation["text"]
    entry = core.audit(entity=PROPOSAL.entity, entity_id=str(p.id))[-1]
    assert (entry.from_state, entry.to_state, entry.actor) == ("proposed", "proposed", "system")
    assert entry.detail == {
        "quantity": 42,
        "was": 36,
        "followed": "stock",
        "priority": "urgent",
        "revision": 1,
    }
    core.approve_proposal(p.id, actor="planner")
    low(core, 3, 0)  # approved: the quantity the planner saw is what is ordered
    assert core.get_proposal(p.id).quantity == 42


def test_below_safety_stock_the_proposal_is_urgent(core: BohCore) -> None:
    low(core, 1, 8)  # below the reorder point 10, above the safety stock 4
    (p,) = core.list_proposals()
    assert p.priority == "normal"
    low(core, 2, 3)  # below the safety stock: the same proposal becomes urgent
    urgent = core.get_proposal(p.id)
    assert urgent.priority == "urgent"
    assert "below safety stock 4" in urgent.explanation["text"]


def test_safety_stock_above_the_reorder_point_is_refused(core: BohCore) -> None:
    bad = catalog()
    bad["locations"][0]["safety_stock"] = 11
    with pytest.raises(CatalogError, match=r"safety_stock \(11.0\) must not exceed min \(10.0\)"):
        core.load_catalog(bad)
