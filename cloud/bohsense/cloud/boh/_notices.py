"""The technicians' side of alerts: the feed's filters, the notice outbox, fault labels.

Notices are written by the transaction that changed the alert (``_alerts.queue_notice``)
and published after it committed: ``claim_notices`` hands the oldest unpublished ones
to a publisher and marks those it took as published, in one transaction, with the rows
locked ``FOR UPDATE SKIP LOCKED`` so that two workers publishing at once never take the
same notice. A notice is published at least once: one whose publisher failed stays in
the outbox for the next round.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, Text, cast, select, update

from ._lifecycle import ALERT
from ._models import Alert, AlertNotice, FaultLabel
from ._records import record_from
from ._scope import Sites, within
from .rules import SEVERITIES, severity_rank

__all__ = ["AlertFilter", "FaultLabelRecord", "NoticeRecord", "claim_notices", "list_fault_labels"]


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """The alerts feed's filters beyond state, asset and site (None: not filtered)."""

    #: this severity and more severe
    min_severity: str | None = None
    condition: str | None = None
    recipient: str | None = None
    #: only open or acknowledged alerts
    open_only: bool = False
    #: changed at or after this time (ns), for polling the feed
    since_ns: int | None = None
    subject: str | None = None

    def apply(self, q: Select[Any]) -> Select[Any]:
        if self.min_severity is not None:
            rank = severity_rank(self.min_severity)
            q = q.where(Alert.severity.in_(SEVERITIES[rank:]))
        if self.condition is not None:
            q = q.where(Alert.condition == self.condition)
        if self.subject is not None:
            q = q.where(Alert.subject == self.subject)
        if self.open_only:
            q = q.where(Alert.state.in_(sorted(ALERT.open)))
        if self.since_ns is not None:
            q = q.where(Alert.updated_ns >= self.since_ns)
        if self.recipient is not None:
            # JSON containment differs per dialect; the quoted name in the JSON text is exact
            q = q.where(cast(Alert.recipients, Text).contains(json.dumps(self.recipient)))
        return q


@dataclass(frozen=True, slots=True)
class NoticeRecord:
    id: int
    alert_id: int
    gateway: str
    payload: dict[str, Any]
    created_ns: int


def claim_notices(conn: Connection, publish: Callable[[NoticeRecord], bool], now: int, limit: int) -> int:
    n = AlertNotice.__table__.c
    rows = conn.execute(
        select(n.id, n.alert_id, n.gateway, n.payload, n.created_ns)
        .where(n.published_ns.is_(None))
        .order_by(n.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    sent: list[int] = []
    for r in rows:
        if not publish(record_from(NoticeRecord, r)):
            break  # keep the order: the rest wait for the next round
        sent.append(r.id)
    if sent:
        conn.execute(update(AlertNotice).where(n.id.in_(sent)).values(published_ns=now))
    return len(sent)


@dataclass(frozen=True, slots=True)
class FaultLabelRecord:
    id: int
    asset_id: str
    site: str
    fault: str
    resolution_code: str
    root_cause: str
    alert_id: int | None
    work_order_id: int
    model: str
    start_ns: int | None
    end_ns: int | None
    evidence: dict[str, Any]
    created_ns: int


def list_fault_labels(
    conn: Connection,
    asset_id: str | None,
    fault: str | None,
    limit: int,
    offset: int,
    sites: Sites = None,
) -> list[FaultLabelRecord]:
    c = FaultLabel.__table__.c
    q = select(FaultLabel.__table__).where(within(c.site, sites)).order_by(c.id)
    if asset_id is not None:
        q = q.where(c.asset_id == asset_id)
    if fault is not None:
        q = q.where(c.fault == fault)
    return [record_from(FaultLabelRecord, r) for r in conn.execute(q.limit(limit).offset(offset))]
