"""The quarantine table, bounded: what is kept of each payload, and a quota per gateway.

- A payload is kept whole up to ``KEEP_BYTES``; beyond, only its first ``KEEP_BYTES``,
  always with its full size and SHA-256, so it can still be recognised and counted.
  ``apply-failed`` and ``unknown-gateway`` payloads are kept whole: they are valid
  messages (bounded by the codec's ``MAX_PAYLOAD_BYTES``) and are what ``reapply`` and the
  release of a newly registered gateway's held batches apply again.
- A gateway (or, for payloads whose topic names none, the empty gateway) holds at most
  ``quota`` rows; items beyond it are not stored, and the caller counts them. ``apply-failed``
  items are exempt: their seq was recorded, the quarantine is their only copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select

from ..ports import QuarantineItem
from ._errors import NotFound
from ._models import QuarantineRow

__all__ = ["DEFAULT_QUOTA", "KEEP_BYTES", "KEEP_WHOLE", "quarantine_payload", "store_quarantine"]

KEEP_BYTES = 65_536
DEFAULT_QUOTA = 10_000
#: reasons whose payload is kept whole and never refused by the quota
KEEP_WHOLE = frozenset({"apply-failed", "unknown-gateway"})


def _text(s: str) -> str:
    """Text any column holds: PostgreSQL refuses NUL, which a topic or a detail may carry."""
    return s.replace("\x00", "\\x00")


def _row(item: QuarantineItem) -> dict[str, Any]:
    payload = item.payload
    kept = payload if item.reason in KEEP_WHOLE else payload[:KEEP_BYTES]
    return {
        "topic": _text(item.topic),
        "gateway": _text(item.gateway[:64]),
        "reason": _text(item.reason[:32]),
        "detail": _text(item.detail),
        "payload": kept,
        "payload_size": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "received_ns": item.received_ns,
    }


def store_quarantine(conn: Connection, items: Sequence[QuarantineItem], quota: int) -> int:
    """Insert what the quota allows of ``items``; return how many were stored."""
    c = QuarantineRow.__table__.c
    gateways = sorted({_text(i.gateway[:64]) for i in items if i.reason not in KEEP_WHOLE})
    held: dict[str, int] = {}
    if gateways:
        counted = (
            select(c.gateway, func.count())
            .where(c.gateway.in_(gateways), c.reason.not_in(sorted(KEEP_WHOLE)))
            .group_by(c.gateway)
        )
        held = {g: n for g, n in conn.execute(counted)}
    rows: list[dict[str, Any]] = []
    for item in items:
        row = _row(item)
        if item.reason not in KEEP_WHOLE:
            if held.get(row["gateway"], 0) >= quota:
                continue
            held[row["gateway"]] = held.get(row["gateway"], 0) + 1
        rows.append(row)
    if rows:
        conn.execute(insert(QuarantineRow), rows)
    return len(rows)


def quarantine_payload(conn: Connection, qid: int) -> bytes:
    """The stored bytes of item ``qid`` (the whole payload, or its prefix when it was large)."""
    c = QuarantineRow.__table__.c
    payload = conn.execute(select(c.payload).where(c.id == qid)).scalar_one_or_none()
    if payload is None:
        raise NotFound("quarantine item", qid)
    return bytes(payload)
