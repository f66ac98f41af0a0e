"""Re-applying a quarantined message once the fault that set it aside is gone.

Only ``apply-failed`` items qualify: their payload was valid and the BOH core failed on it
(a rules bug since fixed, say). Every other reason says the data itself is wrong. A batch
whose seq was recorded when it was set aside (ingest applies an empty copy so the
gateway's watermark moves on) has its readings applied now, once; one whose seq was not
recorded is applied like any batch. Statuses and command results are recorded as ingest
would. The item leaves the quarantine in the same transaction, with an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, select

from bohsense.contracts.codec import PayloadError, decode_batch, decode_result, decode_status
from bohsense.contracts.topics import TopicError, parse_topic

from ._apply import Applier, Learnt
from ._commands import record_result
from ._domain_events import DomainEvent, emit
from ._errors import NotFound
from ._models import QuarantineRow
from ._status import record_status

__all__ = ["REAPPLICABLE", "ReapplyResult", "reapply"]

#: the only quarantine reason whose payload is valid and can be applied again
REAPPLICABLE = "apply-failed"


@dataclass(frozen=True, slots=True)
class ReapplyResult:
    id: int
    ok: bool
    what: str  # what was applied, or why not


def reapply(
    conn: Connection, applier: Applier, qid: int, actor: str, now: int
) -> tuple[ReapplyResult, Learnt | None]:
    """Re-apply the quarantine item ``qid`` in the caller's transaction."""
    q = QuarantineRow.__table__.c
    row = conn.execute(select(QuarantineRow.__table__).where(q.id == qid).with_for_update()).one_or_none()
    if row is None:
        raise NotFound("quarantine item", qid)
    if row.reason != REAPPLICABLE:
        why = f"only {REAPPLICABLE!r} items can be re-applied; this one is {row.reason!r}: its data is wrong"
        return ReapplyResult(qid, False, why), None
    learnt: Learnt | None = None
    payload = bytes(row.payload)
    try:
        _gateway, kind = parse_topic(row.topic)
        if kind == "readings":
            batch = decode_batch(payload)
            outcome, learnt = applier.apply(conn, [batch])
            if outcome.duplicates:  # its seq was recorded when it was set aside
                applier.apply_readings(conn, [batch], now, learnt)
                applier.dispatch(conn, [batch], None, now)
            what = f"batch seq {batch.seq} ({len(batch.readings)} readings)"
        elif kind == "status":
            status = decode_status(payload)
            record_status(conn, status, now, auto_register=applier.auto_register)
            what = f"status {status.state!r} of {status.gateway}"
        elif kind == "result":
            result = decode_result(payload)
            record_result(conn, result, now)
            what = f"result of command {result.id}"
        else:
            return ReapplyResult(qid, False, f"nothing applies {kind!r} messages"), None
    except (TopicError, PayloadError) as exc:
        return ReapplyResult(qid, False, f"the payload cannot be read: {exc}"), None
    conn.execute(delete(QuarantineRow).where(q.id == qid))
    emit(
        conn,
        DomainEvent(
            "quarantine.reapplied",
            "quarantine",
            str(qid),
            row.reason,
            "reapplied",
            now,
            actor,
            {"topic": row.topic, "gateway": row.gateway, "what": what},
        ),
    )
    return ReapplyResult(qid, True, what), learnt
