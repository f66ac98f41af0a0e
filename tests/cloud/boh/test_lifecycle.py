"""Lifecycle tables and transitions through the core, each written to the audit log."""

from __future__ import annotations

import pytest

from bohsense.cloud.boh import ALERT, PROPOSAL, WORK_ORDER, BohCore, InvalidTransition, Lifecycle, NotFound

from .factory import CLEAR, DURATION_S, LANE_A, LIMIT, batch, units, vib


@pytest.mark.parametrize("lifecycle", [ALERT, WORK_ORDER, PROPOSAL], ids=lambda c: c.entity)
def test_tables_are_closed_and_final_states_are_not_open(lifecycle: Lifecycle) -> None:
    assert lifecycle.initial in lifecycle.open
    for state, targets in lifecycle.moves.items():
        assert targets <= lifecycle.states, state
        if not targets:
            assert state not in lifecycle.open
    assert lifecycle.open <= lifecycle.states


def test_check_names_the_allowed_moves() -> None:
    WORK_ORDER.check(1, "open", "in_progress")
    with pytest.raises(
        InvalidTransition, match=r"from 'open' to 'closed' \(allowed from 'open': cancelled, in_progress\)"
    ):
        WORK_ORDER.check(1, "open", "closed")
    with pytest.raises(InvalidTransition, match="none: it is final"):
        ALERT.check(1, "resolved", "open")


def open_alert(core: BohCore) -> int:
    core.apply_batches([batch(1, [vib(t, LIMIT + 1) for t in range(0, DURATION_S + 1, 5)])])
    (alert,) = core.list_alerts()
    return alert.id


def clear_condition(core: BohCore, seq: int = 2) -> None:
    """The fault is fixed: the value stays below clear_below for the minimum duration."""
    core.apply_batches([batch(seq, [vib(t, CLEAR - 1) for t in range(40, 40 + DURATION_S + 1, 5)])])


def test_alert_lifecycle_with_audit(core: BohCore) -> None:
    alert_id = open_alert(core)
    assert core.acknowledge_alert(alert_id, actor="tech-1").state == "acknowledged"
    with pytest.raises(InvalidTransition):
        core.acknowledge_alert(alert_id, actor="tech-1")
    clear_condition(core)
    assert core.resolve_alert(alert_id, actor="tech-1", note="replaced bearing").state == "resolved"
    with pytest.raises(InvalidTransition):
        core.resolve_alert(alert_id, actor="tech-1")
    trail = [
        (a.from_state, a.to_state, a.actor, a.detail)
        for a in core.audit(entity="alert", entity_id=str(alert_id))
        if a.detail.get("condition") != "cleared"
    ]
    assert trail[1:] == [
        ("open", "acknowledged", "tech-1", {}),
        ("acknowledged", "resolved", "tech-1", {"note": "replaced bearing"}),
    ]
    assert trail[0][:3] == (None, "open", "system")


def test_an_open_alert_can_be_resolved_directly(core: BohCore) -> None:
    alert_id = open_alert(core)
    clear_condition(core)
    assert core.resolve_alert(alert_id, actor="tech-2").state == "resolved"


def test_work_order_lifecycle_with_audit(core: BohCore) -> None:
    open_alert(core)
    (wo,) = core.list_work_orders()
    with pytest.raises(InvalidTransition):
        core.transition_work_order(wo.id, "done", actor="tech-1")
    clear_condition(core)
    for to in ("in_progress", "done", "closed"):
        assert core.transition_work_order(wo.id, to, actor="tech-1", note=f"now {to}").state == to
    assert core.get_work_order(wo.id).note == "now closed"
    with pytest.raises(InvalidTransition):
        core.transition_work_order(wo.id, "cancelled", actor="tech-1")
    trail = [(a.from_state, a.to_state) for a in core.audit(entity="work_order", entity_id=str(wo.id))]
    assert trail == [(None, "open"), ("open", "in_progress"), ("in_progress", "done"), ("done", "closed")]


def test_a_failed_transition_changes_nothing(core: BohCore) -> None:
    core.apply_batches([batch(1, [units(LANE_A, 1, 1)])])
    (p,) = core.list_proposals()
    core.reject_proposal(p.id, actor="planner")
    before = len(core.audit())
    with pytest.raises(InvalidTransition):
        core.approve_proposal(p.id, actor="planner")
    assert core.get_proposal(p.id).state == "rejected"
    assert len(core.audit()) == before


def test_unknown_ids_raise_not_found(core: BohCore) -> None:
    with pytest.raises(NotFound, match="no alert with id 999"):
        core.acknowledge_alert(999, actor="x")
    with pytest.raises(NotFound):
        core.get_work_order(999)
    with pytest.raises(NotFound):
        core.transition_proposal(999, "approved", actor="x")
    with pytest.raises(NotFound):
        core.get_gateway("nope")
