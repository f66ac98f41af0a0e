"""Work orders that carry the job, made by hand or by a fault, and the alert <-> work order lifecycle.

The rule: an alert is resolved only once its condition has cleared (the rule's hysteresis
and minimum duration decide that); closing its work order resolves it; so a fault that
persists can never be "resolved" into a new alert and work order seconds later.
"""

from __future__ import annotations

import pytest

from bohsense.cloud.boh import (
    Attachment,
    BohCore,
    LabourEntry,
    NotFound,
    PartUse,
    StateConflict,
    WorkOrderChanges,
)
from bohsense.contracts.schema import Reading

from .factory import CLEAR, DURATION_S, LIMIT, T0, S, batch, vib


def sustained(start_s: float, seconds: float, value: float, step_s: float = 5) -> list[Reading]:
    return [vib(start_s + i * step_s, value) for i in range(int(seconds / step_s) + 1)]


def fault(core: BohCore, seq: int = 1, start_s: float = 0) -> None:
    core.apply_batches([batch(seq, sustained(start_s, DURATION_S, LIMIT + 1))])


def clear(core: BohCore, seq: int, start_s: float) -> None:
    core.apply_batches([batch(seq, sustained(start_s, DURATION_S, CLEAR - 1))])


def test_resolving_an_alert_while_the_fault_persists_is_refused(core: BohCore) -> None:
    fault(core)
    (alert,) = core.list_alerts()
    with pytest.raises(StateConflict, match="still active") as info:
        core.resolve_alert(alert.id, actor="tech-1")
    assert info.value.reason == "condition-active"
    core.apply_batches([batch(2, sustained(40, 20, LIMIT + 1))])  # the fault goes on
    assert [(a.id, a.state) for a in core.list_alerts()] == [(alert.id, "open")]
    assert len(core.list_work_orders()) == 1  # no second alert or work order
    clear(core, 3, 100)
    assert core.resolve_alert(alert.id, actor="tech-1").state == "resolved"
    clear(core, 4, 200)  # still quiet: nothing new
    assert len(core.list_alerts()) == 1


def test_a_fault_that_comes_back_after_clearing_is_active_again(core: BohCore) -> None:
    fault(core)
    (alert,) = core.list_alerts()
    clear(core, 2, 100)
    assert core.get_alert(alert.id).cleared_ns is not None
    fault(core, 3, 200)  # back before anyone resolved it: the same alert, active again
    assert core.get_alert(alert.id).cleared_ns is None
    with pytest.raises(StateConflict):
        core.resolve_alert(alert.id, actor="tech-1")


def test_closing_the_work_order_resolves_its_alert(core: BohCore) -> None:
    fault(core)
    (alert,) = core.list_alerts()
    (wo,) = core.list_work_orders()
    core.transition_work_order(wo.id, "in_progress", actor="tech-1")
    core.transition_work_order(wo.id, "done", actor="tech-1", note="replaced bearing")  # allowed while active
    with pytest.raises(StateConflict, match="still active"):
        core.transition_work_order(wo.id, "closed", actor="supervisor")
    assert core.get_work_order(wo.id).state == "done"
    clear(core, 2, 100)  # the fix worked: the condition clears
    assert core.transition_work_order(wo.id, "closed", actor="supervisor").state == "closed"
    resolved = core.get_alert(alert.id)
    assert resolved.state == "resolved"
    (entry,) = [a for a in core.audit(entity="alert", entity_id=str(alert.id)) if a.to_state == "resolved"]
    assert (entry.actor, entry.detail) == (
        "supervisor",
        {"work_order": wo.id, "note": f"work order {wo.id} closed"},
    )


def test_cancelling_the_work_order_leaves_the_alert_open(core: BohCore) -> None:
    fault(core)
    (alert,) = core.list_alerts()
    (wo,) = core.list_work_orders()
    core.transition_work_order(wo.id, "cancelled", actor="tech-1")
    assert core.get_alert(alert.id).state == "open"


def test_a_work_order_by_hand_carries_the_job(core: BohCore) -> None:
    wo = core.create_work_order(
        "cooler-1",
        "Quarterly coil cleaning",
        actor="planner",
        kind="preventive",
        priority="high",
        assignee="tech-7",
        due_ns=T0 + 86_400 * S,
        description="Clean the condenser coil",
    )
    assert (wo.alert_id, wo.site, wo.state, wo.kind, wo.priority) == (
        None,
        "store-t1",
        "open",
        "preventive",
        "high",
    )
    changes = WorkOrderChanges(
        assignee="tech-8",
        resolution_code="cleaned",
        root_cause="dust",
        add_parts=(PartUse("filter F-12", 2, "each"),),
        add_labour=(LabourEntry("tech-8", 1.5, "coil and fan"),),
        add_attachments=(Attachment("https://files.example.com/wo/coil.jpg", "coil.jpg", "image/jpeg"),),
        note="done in the morning",
    )
    updated = core.update_work_order(wo.id, changes, actor="tech-8")
    assert (updated.assignee, updated.resolution_code, updated.root_cause) == ("tech-8", "cleaned", "dust")
    assert updated.parts == [{"part": "filter F-12", "quantity": 2.0, "unit": "each", "note": ""}]
    assert updated.labour[0]["technician"] == "tech-8"
    assert updated.labour[0]["hours"] == 1.5
    assert updated.attachments == [
        {"uri": "https://files.example.com/wo/coil.jpg", "name": "coil.jpg", "media_type": "image/jpeg"}
    ]
    assert [n["text"] for n in updated.notes] == ["done in the morning"]
    assert updated.note == "done in the morning"
    again = core.update_work_order(wo.id, WorkOrderChanges(add_parts=(PartUse("screw", 4),)), actor="tech-8")
    assert [p["part"] for p in again.parts] == ["filter F-12", "screw"]  # appended, not replaced
    trail = core.audit(entity="work_order", entity_id=str(wo.id))
    assert [(a.from_state, a.to_state, a.actor) for a in trail] == [
        (None, "open", "planner"),
        ("open", "open", "tech-8"),
        ("open", "open", "tech-8"),
    ]
    assert trail[1].detail["changed"] == [
        "add_attachments",
        "add_labour",
        "add_parts",
        "assignee",
        "note",
        "resolution_code",
        "root_cause",
    ]


def test_a_closed_work_order_no_longer_changes(core: BohCore) -> None:
    wo = core.create_work_order("cooler-1", "Check door seal", actor="planner")
    for to in ("in_progress", "done", "closed"):
        core.transition_work_order(wo.id, to, actor="tech-1")
    with pytest.raises(StateConflict, match="closed"):
        core.update_work_order(wo.id, WorkOrderChanges(assignee="x"), actor="tech-1")


def test_a_work_order_for_an_unknown_asset_is_refused(core: BohCore) -> None:
    with pytest.raises(NotFound, match="no asset with id 'nope'"):
        core.create_work_order("nope", "x", actor="planner")


def test_work_orders_by_site(core: BohCore) -> None:
    fault(core)
    assert len(core.list_work_orders(site="store-t1")) == 1
    assert core.list_work_orders(site="elsewhere") == []


def test_fault_work_orders_take_their_priority_from_the_severity(core: BohCore) -> None:
    fault(core)  # severity "major"
    (wo,) = core.list_work_orders()
    assert wo.priority == "high"
