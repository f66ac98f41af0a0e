"""Replenishment proposals beyond sizing: abnormal-order flags, auto-approval, placing the
order (its webhook), receipts, and the book-stock hook.

Flags (``flags_for``). A proposal is compared with the location's history before it is
written: ``above_history`` when its quantity is more than ``history_factor`` × the median of
the last ``history_window`` orders of the location (ordered or received; at least
``min_history`` of them), ``above_forecast`` when it is more than ``forecast_factor`` × the
forecast demand over the lead time plus ``forecast_days`` days (only with a plan). Each flag
carries its reason; a flagged proposal is never approved automatically.

Auto-approval (``ApprovalPolicy``). Per ABC class (``"A"``, ``"B"``, ``"C"``, and ``"*"`` for
a location without a plan, or a class not listed): ``max_units`` and ``max_value`` (units ×
the plan's unit cost; a proposal with no known cost passes only when no value limit is
set). A proposal at or under both, and unflagged, is approved by ``auto-approval`` in the
transaction that opened or re-sized it; above either, it waits for a person. No limits
configured (the default): every proposal waits.

Placing the order. With ``place_on_approval``, approval (automatic or by hand) moves the
proposal on to ``ordered`` in the same transaction, and the move to ``ordered`` enqueues the
``order.ordered`` webhook (``order_webhook``), whoever makes it; cancelling an ordered
proposal enqueues ``order.cancelled``. Both in the group ``order:<site>/<sku>``: the ERP
gets a SKU's orders in the order they were made.

Receipts (``record_receipt``). Goods received against an ordered proposal, once per
receipt id (a repeat of the same receipt answers the same; the same id with other numbers
is refused). The units received so far leave the on-order quantity; a receipt marked
final, or the ordered quantity reached, closes the proposal (``received``). Each receipt
calls ``_book_receipt``, the one place book stock is moved.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, desc, insert, select, update

from ._domain_events import DomainEvent, emit
from ._errors import InvalidValue, NotFound, StateConflict
from ._lifecycle import PROPOSAL
from ._models import ProposalReceipt, ReplenishmentProposal
from ._webhooks import enqueue_webhook

__all__ = [
    "AUTO_ACTOR",
    "ApprovalLimit",
    "ApprovalPolicy",
    "FlagPolicy",
    "ProposalPolicy",
    "auto_approve",
    "explanation_url",
    "flags_for",
    "order_webhook",
    "record_receipt",
    "work_order_webhook",
]

AUTO_ACTOR = "auto-approval"
#: the API path of a proposal's explanation (the order webhook links it)
EXPLANATION_PATH = "/api/v1/replenishment/{id}/explanation"
PAST_ORDER_STATES = ("ordered", "received")


@dataclass(frozen=True, slots=True)
class ApprovalLimit:
    max_units: int
    max_value: float | None = None


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    #: ABC class (or "*") -> the limits under which a proposal is approved automatically
    limits: Mapping[str, ApprovalLimit] = field(default_factory=dict)

    def limit_for(self, abc: str | None) -> ApprovalLimit | None:
        return self.limits.get(abc or "*", self.limits.get("*"))


@dataclass(frozen=True, slots=True)
class FlagPolicy:
    history_factor: float = 3.0
    min_history: int = 3
    history_window: int = 20
    forecast_factor: float = 2.0
    forecast_days: int = 28


@dataclass(frozen=True, slots=True)
class ProposalPolicy:
    approval: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    flags: FlagPolicy = field(default_factory=FlagPolicy)
    #: approval places the order (``ordered`` and its webhook) in the same transaction
    place_on_approval: bool = False


def explanation_url(proposal_id: int) -> str:
    return EXPLANATION_PATH.format(id=proposal_id)


# -- flags ---------------------------------------------------------------------------------


def flags_for(
    conn: Connection, policy: FlagPolicy, location_id: int, quantity: int, explanation: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """What looks abnormal about ordering ``quantity`` at this location, each with its reason."""
    flags: list[dict[str, Any]] = []
    p = ReplenishmentProposal
    past = list(
        conn.scalars(
            select(p.quantity)
            .where(p.location_id == location_id, p.state.in_(PAST_ORDER_STATES))
            .order_by(desc(p.id))
            .limit(policy.history_window)
        )
    )
    if len(past) >= policy.min_history:
        median = float(statistics.median(past))
        if median > 0 and quantity > policy.history_factor * median:
            flags.append(
                {
                    "flag": "above_history",
                    "reason": f"{quantity} units is {quantity / median:.1f}x the median {median:g} of the "
                    f"last {len(past)} orders here (limit {policy.history_factor:g}x)",
                    "median": median,
                    "orders": len(past),
                }
            )
    fc = explanation.get("forecast")
    if isinstance(fc, Mapping):
        horizon = int(fc.get("lead_time_days", 0)) + policy.forecast_days
        demand = float(fc.get("lead_time_mean", 0.0)) + policy.forecast_days * float(
            fc.get("daily_mean", 0.0)
        )
        if quantity > policy.forecast_factor * max(demand, 1.0):
            flags.append(
                {
                    "flag": "above_forecast",
                    "reason": f"{quantity} units is more than {policy.forecast_factor:g}x the forecast demand "
                    f"of {demand:.1f} over the next {horizon} days",
                    "forecast_demand": demand,
                    "horizon_days": horizon,
                }
            )
    return flags


# -- approval and the order ----------------------------------------------------------------


def auto_approve(conn: Connection, policy: ProposalPolicy, proposal_id: int, now: int) -> bool:
    """Approve ``proposal_id`` (still ``proposed``) when it is under its class's limits and
    unflagged; place the order when configured. True when approved."""
    row = conn.execute(
        select(ReplenishmentProposal.__table__).where(ReplenishmentProposal.id == proposal_id)
    ).one()
    if row.state != PROPOSAL.initial or row.flags:
        return False
    abc = None
    klass = row.explanation.get("class")
    if isinstance(klass, str) and klass:
        abc = klass[0]
    limit = policy.approval.limit_for(abc)
    if limit is None or row.quantity > limit.max_units:
        return False
    cost = row.explanation.get("unit_cost")
    value = row.quantity * float(cost) if isinstance(cost, int | float) else None
    if limit.max_value is not None and (value is None or value > limit.max_value):
        return False
    why = f"{row.quantity} units <= {limit.max_units}" + (
        f", value {value:.2f} <= {limit.max_value:g}"
        if limit.max_value is not None and value is not None
        else ""
    )
    _move_conn(conn, row, "approved", AUTO_ACTOR, now, {"approval": "auto", "why": why, "class": klass})
    conn.execute(
        update(ReplenishmentProposal)
        .where(ReplenishmentProposal.id == proposal_id)
        .values(approval="auto")
        .execution_options(synchronize_session=False)
    )
    if policy.place_on_approval:
        placed = conn.execute(
            select(ReplenishmentProposal.__table__).where(ReplenishmentProposal.id == proposal_id)
        ).one()
        _move_conn(conn, placed, "ordered", AUTO_ACTOR, now, {"placed": "on approval"})
        order_webhook(conn, placed, "ordered", now)
    return True


def _move_conn(conn: Connection, row: Any, to: str, actor: str, now: int, detail: dict[str, Any]) -> None:
    PROPOSAL.check(row.id, row.state, to)
    conn.execute(
        update(ReplenishmentProposal)
        .where(ReplenishmentProposal.id == row.id)
        .values(state=to, updated_ns=now)
        .execution_options(synchronize_session=False)
    )
    emit(conn, DomainEvent.move(PROPOSAL.entity, row.id, row.state, to, now, actor, detail))


def order_webhook(conn: Connection, row: Any, event: str, now: int) -> int | None:
    """Enqueue ``order.<event>`` (``ordered`` or ``cancelled``) for the proposal ``row``."""
    pack = max(1, int(row.pack_size))
    explanation = row.explanation or {}
    data = {
        "order_id": f"proposal-{row.id}",
        "proposal_id": row.id,
        "event": event,
        "site": row.site,
        "sku": row.sku,
        "location": row.location,
        "quantity": int(row.quantity),
        "pack_size": pack,
        "packs": int(row.quantity) // pack,
        "priority": row.priority,
        "approval": row.approval or "",
        "flags": [f["flag"] for f in (row.flags or [])],
        "at_ns": now,
        "explanation": {
            "source": explanation.get("source", "catalog"),
            "text": explanation.get("text", ""),
        },
        "explanation_url": explanation_url(row.id),
    }
    return enqueue_webhook(
        conn, f"order.{event}", f"order:{row.id}:{event}", f"order:{row.site}/{row.sku}", data, now
    )


def work_order_webhook(conn: Connection, wo: Any, now: int) -> int | None:
    """Enqueue ``work_order.created`` for the work order ``wo`` (a row or an ORM object)."""
    data = {
        "work_order_id": wo.id,
        "alert_id": wo.alert_id,
        "asset_id": wo.asset_id,
        "site": wo.site,
        "kind": wo.kind,
        "title": wo.title,
        "description": wo.description,
        "priority": wo.priority,
        "state": wo.state,
        "created_ns": wo.created_ns,
    }
    return enqueue_webhook(
        conn, "work_order.created", f"work_order:{wo.id}:created", f"work_order:{wo.asset_id}", data, now
    )


# -- receipts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiptOutcome:
    proposal_id: int
    receipt_id: str
    quantity: int
    received_units: int
    state: str
    #: True when this receipt id had been recorded before (nothing changed now)
    repeat: bool


def record_receipt(
    conn: Connection,
    proposal_id: int,
    receipt_id: str,
    quantity: int,
    final: bool,
    actor: str,
    note: str,
    now: int,
) -> ReceiptOutcome:
    if not receipt_id.strip():
        raise InvalidValue("receipt_id", "must not be empty")
    if quantity < 0:
        raise InvalidValue("quantity", f"{quantity} received units cannot be negative")
    if quantity == 0 and not final:
        raise InvalidValue("quantity", "a receipt of 0 units must be final (the rest will not come)")
    p = ReplenishmentProposal.__table__
    row = conn.execute(select(p).where(p.c.id == proposal_id).with_for_update()).one_or_none()
    if row is None:
        raise NotFound(PROPOSAL.entity, proposal_id)
    seen = conn.execute(
        select(ProposalReceipt.__table__).where(ProposalReceipt.receipt_id == receipt_id)
    ).one_or_none()
    if seen is not None:
        if (seen.proposal_id, seen.quantity, seen.final) != (proposal_id, quantity, final):
            raise StateConflict(
                "receipt",
                receipt_id,
                "recorded",
                "receipt-id-reused",
                f"receipt {receipt_id!r} was recorded for proposal {seen.proposal_id} with {seen.quantity} "
                f"units (final {seen.final}): a receipt id names one receipt",
            )
        return ReceiptOutcome(proposal_id, receipt_id, quantity, row.received_units, row.state, True)
    if row.state != "ordered":
        raise StateConflict(
            PROPOSAL.entity,
            proposal_id,
            row.state,
            "not-ordered",
            "goods can be received only against an ordered proposal",
        )
    received = row.received_units + quantity
    conn.execute(
        insert(ProposalReceipt).values(
            receipt_id=receipt_id,
            proposal_id=proposal_id,
            quantity=quantity,
            final=final,
            actor=actor,
            note=note,
            received_ns=now,
        )
    )
    closes = final or received >= row.quantity
    to = "received" if closes else row.state
    conn.execute(
        update(ReplenishmentProposal)
        .where(ReplenishmentProposal.id == proposal_id)
        .values(received_units=received, updated_ns=now)
        .execution_options(synchronize_session=False)
    )
    detail: dict[str, Any] = {
        "receipt_id": receipt_id,
        "quantity": quantity,
        "received_units": received,
        "ordered": row.quantity,
        "final": final,
    }
    if received > row.quantity:
        detail["over_received"] = received - row.quantity
    if note:
        detail["note"] = note
    emit(
        conn,
        DomainEvent.move(
            PROPOSAL.entity,
            proposal_id,
            row.state,
            row.state,
            now,
            actor,
            detail,
            kind="replenishment_proposal.receipt",
        ),
    )
    _book_receipt(conn, row.site, row.sku, row.location, quantity, receipt_id, actor, now)
    if closes:
        _move_conn(conn, row, "received", actor, now, {"receipt_id": receipt_id, "received_units": received})
    return ReceiptOutcome(proposal_id, receipt_id, quantity, received, to, False)


def _book_receipt(
    conn: Connection, site: str, sku: str, location: str, units: int, receipt_id: str, actor: str, now: int
) -> None:
    """Book stock up by ``units`` received at ``site``/``location`` (receipt ``receipt_id``).

    The one hook a receipt moves book stock through, in the receipt's transaction: a
    ``receipt`` line in the inventory ledger (``_ledger``, sender ``replenishment``, the
    receipt id as its transaction id, so a receipt is booked once), and the movement as
    ``stock.book_receipt``; the on-order quantity has already moved."""
    from ._ledger import PosBatch, PosLine, PosTransactionIn, record_transactions

    if units > 0:  # a final receipt of nothing closes the proposal and books nothing
        record_transactions(
            conn,
            PosBatch(
                "replenishment",
                (
                    PosTransactionIn(
                        receipt_id, "receipt", site, now, (PosLine(float(units), sku=sku, location=location),)
                    ),
                ),
            ),
            actor=actor,
            now=now,
        )
    emit(
        conn,
        DomainEvent(
            "stock.book_receipt",
            "stock",
            f"{site}/{sku}/{location}"[:128],
            None,
            "received",
            now,
            actor,
            {"site": site, "sku": sku, "location": location, "units": units, "receipt_id": receipt_id},
        ),
    )
