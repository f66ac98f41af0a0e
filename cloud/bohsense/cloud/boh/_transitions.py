"""One lifecycle move: the table's check, its domain event, and the effects between lifecycles.

The tables are in ``_lifecycle``; what one lifecycle's move does to another (an alert
resolves only once its condition cleared; closing a work order resolves its alert) is in
``_work_orders``. The planner's quantity on a proposal is set here too (``set_quantity``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import _work_orders as wo
from ._domain_events import DomainEvent, emit
from ._errors import InvalidValue, StateConflict
from ._lifecycle import PROPOSAL, Lifecycle
from ._models import Alert, ReplenishmentProposal, WorkOrder
from ._proposals import order_webhook

__all__ = ["QUANTITY_STATES", "move", "set_quantity"]

#: proposal states in which the planner may still change the quantity
QUANTITY_STATES = frozenset({"proposed", "approved"})


def move(s: Session, lifecycle: Lifecycle, row: Any, to: str, actor: str, note: str, now: int) -> None:
    """One lifecycle move with its domain event and the effects between lifecycles
    (see ``_work_orders``: an alert resolves only once its condition cleared; closing a
    work order resolves its alert)."""
    lifecycle.check(row.id, row.state, to)
    if isinstance(row, Alert) and to == "resolved":
        wo.check_resolvable(s, row)
    if isinstance(row, WorkOrder) and to == "closed":
        wo.close_effects(s, row, actor, now)
    emit(
        s,
        DomainEvent.move(lifecycle.entity, row.id, row.state, to, now, actor, {"note": note} if note else {}),
    )
    was = row.state
    row.state = to
    row.updated_ns = now
    if isinstance(row, Alert):
        if to == "resolved":
            row.resolved_ns = now
        row.escalate_at_ns = None if to != "open" else row.escalate_at_ns
    if isinstance(row, ReplenishmentProposal) and (
        to == "ordered" or (to == "cancelled" and was == "ordered")
    ):
        s.flush()
        order_webhook(s.connection(), row, to, now)  # the ERP hears of the order in this transaction
    if note and isinstance(row, WorkOrder):
        wo.add_note(row, actor, note, now)


def set_quantity(
    s: Session, row: ReplenishmentProposal, quantity: int, actor: str, note: str, now: int
) -> None:
    if row.state not in QUANTITY_STATES:
        raise StateConflict(
            PROPOSAL.entity,
            row.id,
            row.state,
            "quantity-fixed",
            "the quantity can change only while the proposal is proposed or approved",
        )
    pack = max(1, row.pack_size)
    if quantity < pack:
        raise InvalidValue("quantity", f"{quantity} is less than at least one pack of {pack}")
    if quantity % pack:
        raise InvalidValue("quantity", f"{quantity} is not a whole number of packs of {pack}")
    was = row.quantity
    explanation = dict(row.explanation)
    explanation.setdefault("rule_quantity", was if row.quantity_source == "rule" else None)
    explanation["planner_quantity"] = quantity
    rule_text = explanation.get("rule_text", explanation.get("text", ""))
    explanation["rule_text"] = rule_text
    explanation["text"] = (
        f"planner set {quantity} units ({quantity // pack} pack(s) of {pack}); rule: {rule_text}"
    )
    row.explanation = explanation
    row.quantity = quantity
    row.quantity_source = "planner"
    row.updated_ns = now
    detail: dict[str, Any] = {"quantity": quantity, "was": was}
    if note:
        detail["note"] = note
    emit(
        s,
        DomainEvent.move(
            PROPOSAL.entity,
            row.id,
            row.state,
            row.state,
            now,
            actor,
            detail,
            kind="replenishment_proposal.quantity_set",
        ),
    )
