"""Domain events: every change of state in the BOH core, one typed row each, in the same
transaction as the change.

A ``DomainEvent`` has a ``kind`` (``alert.opened``, ``work_order.in_progress``,
``replenishment_proposal.revised``, ``command.expired``, ``catalog.asset.retired``, …:
``KINDS`` lists them all; an unknown kind is refused), the entity it is about, the states
before and after, who made it and when, and a JSON ``detail``. The events are the rows of
``audit_log`` (the audit API reads them as it always did, ``kind`` aside), so there is
one way to write history: ``emit``.

Cursor. An event's ``id`` is the cursor of ``changes_since`` (``GET /changes``): events
are read in id order, after the id the reader saw last. A reader sees only committed
events, so ids must become visible in id order, and on PostgreSQL a sequence hands out ids
at insert time, not at commit: a transaction that took id 10 and commits after the one
that took id 11 would be skipped by a reader that already moved past 11. The core
therefore gives ids in commit order: inside a writing transaction (``_db.write_conn``,
``_db.session(write=True)``) the events are kept in memory and written just before the
commit (``flush``), under a transaction-level advisory lock (``pg_advisory_xact_lock``)
that the commit releases. Every id is taken while every earlier id's transaction has
committed: what a reader sees is always a prefix of the ids. The lock is taken last, after
every row lock of the transaction, so it adds no lock cycle; it serialises only the
commits of transactions that write events. On SQLite a write transaction holds the
database lock (``BEGIN IMMEDIATE``) to its commit, which gives the same order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select, text
from sqlalchemy.orm import Session

from ._models import AuditEntry
from ._records import AuditRecord, record_from

__all__ = [
    "KINDS",
    "SYSTEM_ACTOR",
    "ChangesPage",
    "DomainEvent",
    "changes_since",
    "emit",
    "flush",
    "lifecycle_kind",
    "start_buffer",
    "stop_buffer",
]

SYSTEM_ACTOR = "system"
#: the advisory lock key that orders the commits of event-writing transactions (PostgreSQL)
COMMIT_ORDER_LOCK = 0x626F6873  # "bohs"
_BUFFER = "bohsense_domain_events"

_CATALOG_KINDS = (
    "site",
    "gateway",
    "sku",
    "asset",
    "rule",
    "location",
    "lane",
    "device",
    "zone",
    "maintenance",
)
KINDS: frozenset[str] = frozenset(
    {
        # alerts
        "alert.opened",
        "alert.acknowledged",
        "alert.resolved",
        "alert.cleared",  # its condition cleared (the alert stays open until resolved)
        "alert.reactivated",  # its condition came back while it was open
        "alert.escalated",
        "alert.occurred",  # the fault was confirmed again: counted on the open alert
        "alert.reopened",  # a recurrence within the reopen window reopened it
        "alert.diagnosed",  # a later diagnosis named its fault type
        # feedback of closed work orders (``_decisions``)
        "condition_rule.confidence_lowered",
        "fault_label.created",
        # work orders
        "work_order.created",
        "work_order.in_progress",
        "work_order.done",
        "work_order.closed",
        "work_order.cancelled",
        "work_order.updated",
        # replenishment proposals
        "replenishment_proposal.created",
        "replenishment_proposal.revised",  # the rule re-sized it
        "replenishment_proposal.quantity_set",  # the planner's quantity
        "replenishment_proposal.approved",
        "replenishment_proposal.rejected",
        "replenishment_proposal.ordered",
        "replenishment_proposal.received",
        "replenishment_proposal.cancelled",
        "replenishment_proposal.receipt",  # goods received against it (partly or in full)
        # the planner's inputs of a stock location (forecast, class, costs)
        "replenishment_plan.updated",
        # book stock moved by a receipt (``_proposals.book_receipt``)
        "stock.book_receipt",
        # the webhook outbox (``_webhooks``; the delivery row itself records the enqueue)
        "webhook.delivered",
        "webhook.dead_lettered",
        "webhook.redriven",
        # gateway commands
        "command.created",
        "command.succeeded",
        "command.failed",
        "command.expired",
        # gateways
        "gateway.state_changed",
        "gateway.site_claimed",  # its messages name another site than the catalog's
        "gateway.released",  # its held batches were applied once registered
        # quarantine
        "quarantine.reapplied",
        # item-level inventory (``_inventory``): a tagged item left by a door, no sale matched
        "inventory.item_departed_unsold",
        # stock truth (``_stock_truth``): a location's sensed stock moved to a level, and
        # a sender's transaction taken into the book-stock ledger (``_ledger``)
        "stock.in_stock",
        "stock.low",
        "stock.out_of_stock",
        "stock.untrusted",
        "inventory.transaction_recorded",
        # notifications asked for by a decision (see ``_decisions``)
        "notification.requested",
        # a store's hand-over sheet imported (``bohsense.cloud.commission``): the plan in detail
        "commission.imported",
        # the catalog: catalog.<kind>.created / updated / restored / retired
        *(
            f"catalog.{k}.{verb}"
            for k in _CATALOG_KINDS
            for verb in ("created", "updated", "restored", "retired")
        ),
    }
)


def lifecycle_kind(entity: str, frm: str | None, to: str) -> str:
    """The kind of a lifecycle move: ``alert.opened``, ``work_order.done``, …"""
    if frm is None:
        return f"{entity}.{'opened' if entity == 'alert' else 'created'}"
    return f"{entity}.{to}"


@dataclass(frozen=True, slots=True)
class DomainEvent:
    kind: str
    entity: str
    entity_id: str
    from_state: str | None
    to_state: str
    at_ns: int
    actor: str = SYSTEM_ACTOR
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown domain event kind {self.kind!r}")

    @classmethod
    def move(
        cls,
        entity: str,
        entity_id: object,
        frm: str | None,
        to: str,
        at_ns: int,
        actor: str = SYSTEM_ACTOR,
        detail: dict[str, Any] | None = None,
        *,
        kind: str | None = None,
    ) -> DomainEvent:
        """A lifecycle move (``kind`` from the states unless given)."""
        return cls(
            kind or lifecycle_kind(entity, frm, to),
            entity,
            str(entity_id),
            frm,
            to,
            at_ns,
            actor,
            detail or {},
        )


def _conn(target: Connection | Session) -> Connection:
    return target.connection() if isinstance(target, Session) else target


def emit(target: Connection | Session, *events: DomainEvent) -> None:
    """Record ``events`` in the caller's transaction (kept until ``flush`` inside a writing
    transaction of ``_db``; written at once, in commit order, anywhere else)."""
    if not events:
        return
    conn = _conn(target)
    buffer = conn.info.get(_BUFFER)
    if buffer is not None:
        buffer.extend(events)
        return
    _write(conn, events)


def start_buffer(conn: Connection) -> None:
    conn.info[_BUFFER] = []


def stop_buffer(conn: Connection) -> None:
    conn.info.pop(_BUFFER, None)


def flush(target: Connection | Session) -> None:
    """Write the events kept for this transaction (called just before it commits)."""
    conn = _conn(target)
    buffer: list[DomainEvent] | None = conn.info.get(_BUFFER)
    if not buffer:
        return
    events, buffer[:] = list(buffer), []
    _write(conn, events)


def _write(conn: Connection, events: Iterable[DomainEvent]) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": COMMIT_ORDER_LOCK})
    conn.execute(insert(AuditEntry), [asdict(e) for e in events])


@dataclass(frozen=True, slots=True)
class ChangesPage:
    events: list[AuditRecord]  # in id order
    next_after: int  # the cursor for the next call (the last id returned, or ``after``)


def changes_since(conn: Connection, after: int, limit: int, visible: Any = None) -> ChangesPage:
    """Committed events with ``id > after``, oldest first, at most ``limit``; ``visible``:
    only the events the caller may see (``_scope.audit_visible``)."""
    c = AuditEntry.__table__.c
    q = select(AuditEntry.__table__).where(c.id > after)
    if visible is not None:
        q = q.where(visible)
    rows = conn.execute(q.order_by(c.id).limit(limit)).all()
    events = [record_from(AuditRecord, r) for r in rows]
    return ChangesPage(events, events[-1].id if events else after)
