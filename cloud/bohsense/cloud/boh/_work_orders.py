"""Work orders by hand, their changes, and the alert <-> work order lifecycle.

The rule between the two lifecycles (see ``_lifecycle`` for each table):

- A fault opens one alert and one work order (``_decisions``: the decision table); its priority
  comes from the rule's severity (``SEVERITY_PRIORITY``).
- An alert is resolved only once its condition has cleared, i.e. the rule's value stayed
  below ``clear_below`` for ``min_duration_s`` (hysteresis and minimum duration). While
  the condition is active, ``resolve`` is refused (``StateConflict``, reason
  ``condition-active``), so a fault that persists can never be resolved into a new alert
  and work order seconds later. A rule that is retired no longer holds its alert.
- Closing a work order (``done`` → ``closed``, the verification) resolves its alert, and
  is refused the same way while the condition is active: the technician's ``done`` is
  allowed at any time. Cancelling a work order leaves its alert open.
- A fault that comes back while its alert is still open reopens nothing: the alert is
  marked active again (``cleared_ns`` back to None) and counts an occurrence; one that
  comes back within the reopen window after the alert was resolved reopens it
  (``_alerts``), with a new work order if none is open.
- Closing a work order with a resolution code feeds back (``_decisions``:
  ``work_order_no_fault`` lowers the rule's confidence, ``work_order_confirmed`` stores a
  fault label).
"""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ._domain_events import DomainEvent, emit
from ._errors import InvalidValue, NotFound, StateConflict
from ._lifecycle import ALERT, WORK_ORDER
from ._models import Alert, Asset, ConditionRule, WorkOrder
from ._proposals import work_order_webhook
from ._records import WorkOrderChanges

__all__ = [
    "ACTIVE_PHASES",
    "PRIORITIES",
    "SEVERITY_PRIORITY",
    "check_resolvable",
    "close_effects",
    "create_work_order",
    "update_work_order",
]

PRIORITIES = ("low", "normal", "high", "urgent")
SEVERITY_PRIORITY = {"info": "low", "warning": "normal", "major": "high", "critical": "urgent"}
#: rule phases in which the condition is active (see ``rules.ConditionState``)
ACTIVE_PHASES = frozenset({"fault", "clearing"})


def _check_priority(priority: str) -> str:
    if priority not in PRIORITIES:
        raise InvalidValue("priority", f"{priority!r} is not one of {', '.join(PRIORITIES)}")
    return priority


def create_work_order(
    s: Session,
    asset_id: str,
    title: str,
    *,
    actor: str,
    now: int,
    kind: str,
    description: str,
    priority: str,
    assignee: str,
    due_ns: int | None,
    note: str = "",
) -> WorkOrder:
    asset = s.get(Asset, asset_id)
    if asset is None:
        raise NotFound("asset", asset_id)
    if not title.strip():
        raise InvalidValue("title", "must not be empty")
    wo = WorkOrder(
        alert_id=None,
        asset_id=asset_id,
        site=asset.site,
        kind=kind,
        title=title,
        description=description,
        state=WORK_ORDER.initial,
        created_ns=now,
        updated_ns=now,
        note="",
        priority=_check_priority(priority),
        assignee=assignee,
        due_ns=due_ns,
        parts=[],
        labour=[],
        resolution_code="",
        root_cause="",
        notes=[],
        attachments=[],
    )
    if note:
        add_note(wo, actor, note, now)
    s.add(wo)
    s.flush()
    work_order_webhook(s.connection(), wo, now)
    emit(s, DomainEvent.move(WORK_ORDER.entity, wo.id, None, wo.state, now, actor, {"by": "hand"}))
    return wo


def update_work_order(s: Session, wo: WorkOrder, changes: WorkOrderChanges, actor: str, now: int) -> None:
    if not WORK_ORDER.moves[wo.state]:
        raise StateConflict(
            WORK_ORDER.entity, wo.id, wo.state, "final", f"a {wo.state} work order no longer changes"
        )
    changed: list[str] = []
    for name in ("title", "description", "assignee", "resolution_code", "root_cause"):
        value = getattr(changes, name)
        if value is not None and value != getattr(wo, name):
            setattr(wo, name, value)
            changed.append(name)
    if changes.priority is not None and changes.priority != wo.priority:
        wo.priority = _check_priority(changes.priority)
        changed.append("priority")
    if changes.clear_due or (changes.due_ns is not None and changes.due_ns != wo.due_ns):
        wo.due_ns = None if changes.clear_due else changes.due_ns
        changed.append("due_ns")
    if changes.add_parts:
        wo.parts = [*wo.parts, *(asdict(p) for p in changes.add_parts)]
        changed.append("add_parts")
    if changes.add_labour:
        wo.labour = [
            *wo.labour,
            *({**asdict(e), "at_ns": e.at_ns if e.at_ns is not None else now} for e in changes.add_labour),
        ]
        changed.append("add_labour")
    if changes.add_attachments:
        wo.attachments = [*wo.attachments, *(asdict(a) for a in changes.add_attachments)]
        changed.append("add_attachments")
    if changes.note:
        add_note(wo, actor, changes.note, now)
        changed.append("note")
    if not changed:
        return
    wo.updated_ns = now
    emit(
        s,
        DomainEvent.move(
            WORK_ORDER.entity,
            wo.id,
            wo.state,
            wo.state,
            now,
            actor,
            {"changed": sorted(changed)},
            kind="work_order.updated",
        ),
    )


def add_note(wo: WorkOrder, actor: str, text: str, now: int) -> None:
    wo.notes = [*wo.notes, {"at_ns": now, "actor": actor, "text": text}]
    wo.note = text


def check_resolvable(s: Session, alert: Alert) -> None:
    """Refuse (``StateConflict``) while the alert's condition is active, or its gateway or
    device still silent (``_silence``)."""
    from ._silence import check_resolvable as silence_check  # _silence imports _effects, which imports this

    still_silent = silence_check(alert)
    if still_silent is not None:
        raise StateConflict(ALERT.entity, alert.id, alert.state, "still-silent", still_silent)
    if alert.rule_id is not None:  # a detector's alert is named by its diagnosis, not its rule
        rule = s.get(ConditionRule, alert.rule_id)
    else:
        rule = s.scalars(
            select(ConditionRule).where(
                ConditionRule.asset_id == alert.asset_id, ConditionRule.condition == alert.condition
            )
        ).one_or_none()
    if rule is None or rule.retired_ns is not None or rule.phase not in ACTIVE_PHASES:
        return
    raise StateConflict(
        ALERT.entity,
        alert.id,
        alert.state,
        "condition-active",
        f"{alert.condition} on {alert.asset_id} is still active ({rule.metric} has not stayed below "
        f"{rule.clear_below:g} for {rule.min_duration_s:g} s): it can be resolved once the condition clears"
        if rule.engine != "detector"
        else f"{alert.condition} on {alert.asset_id} is still active (the {rule.model} detector's score "
        "has not stayed below its clear level for its minimum duration): it can be resolved once it clears",
    )


def close_effects(s: Session, wo: WorkOrder, actor: str, now: int) -> None:
    """A work order going to ``closed`` resolves its alert (refused while the condition is active)."""
    if wo.alert_id is None:
        return
    alert = s.get(Alert, wo.alert_id, with_for_update=True)
    if alert is None or alert.state not in ALERT.open:
        return
    try:
        check_resolvable(s, alert)
    except StateConflict as exc:
        raise StateConflict(
            WORK_ORDER.entity, wo.id, wo.state, exc.reason, f"its alert {alert.id}: {exc}"
        ) from exc
    emit(
        s,
        DomainEvent.move(
            ALERT.entity,
            alert.id,
            alert.state,
            "resolved",
            now,
            actor,
            {"work_order": wo.id, "note": f"work order {wo.id} closed"},
        ),
    )
    alert.state = "resolved"
    alert.updated_ns = now
    alert.resolved_ns = now
    alert.escalate_at_ns = None
