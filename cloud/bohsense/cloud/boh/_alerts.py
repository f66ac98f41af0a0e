"""The alert engine's writes: one open alert per key, occurrences, reopening, clearing,
auto-resolution, and the technicians' notices. Runs in the caller's transaction.

One open alert per asset (or subject) and fault type is the database's guarantee, not
this module's: the partial unique indexes of ``_models`` (``uq_alerts_open_*``) admit one
row in an open state per key. ``raise_alert`` is the upsert on them:

1. a resolved alert of the same key, resolved less than ``reopen_window_s`` ago, is
   reopened (``resolved -> open``, ``reopened`` + 1, an occurrence) instead of a new one;
2. otherwise ``INSERT … ON CONFLICT DO NOTHING`` opens a new alert;
3. if an open alert holds the key, it is updated instead: an occurrence is counted when
   the decision's event time is newer than the last one counted (the same fault reported
   twice is one occurrence), and its condition is active again.

Two workers that race for one key both end in one row: the loser's INSERT meets the
winner's row in the unique index and becomes step 3 (PostgreSQL waits for the winner's
commit before it decides). A reopen that meets an open alert opened meanwhile is undone
(its savepoint) and becomes step 3 too.

Auto-resolution (``auto_resolve``): an open or acknowledged alert whose condition has
been cleared for ``auto_resolve_after_s`` (and whose rule is not active) is resolved by
the system. Each change a technician should hear of writes a notice into the outbox
(``alert_notices``), published on MQTT after the commit (``publish_notices``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bohsense.contracts.topics import TopicError, validate_gateway_id

from ._db import conflict_insert
from ._domain_events import SYSTEM_ACTOR, DomainEvent, emit
from ._lifecycle import ALERT
from ._models import Alert, AlertNotice, Asset, ConditionRule, Device, WorkOrder
from ._webhooks import enqueue_webhook

__all__ = [
    "NOTICE_EVENTS",
    "AlertPolicy",
    "Raised",
    "alert_gateway",
    "auto_resolve",
    "escalation_webhook",
    "queue_notice",
    "raise_alert",
    "recipients_for",
]

NS = 1_000_000_000
#: what a notice says happened to its alert
NOTICE_EVENTS = ("opened", "reopened", "occurred", "diagnosed", "escalated", "acknowledged", "resolved")
ACTIVE_PHASES = frozenset({"fault", "clearing", "over"})
#: conditions of the silence sweep's alerts (``_silence``), resolved when heard again
SILENCE_CONDITIONS = frozenset({"gateway-silent", "device-silent"})


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """``reopen_window_s``: a recurrence this soon after resolution reopens the alert (0:
    never); ``auto_resolve_after_s``: an alert whose condition has been cleared this long is
    resolved by the system (0: never)."""

    reopen_window_s: float = 3600.0
    auto_resolve_after_s: float = 1800.0


@dataclass(frozen=True, slots=True)
class Raised:
    """What ``raise_alert`` did: ``opened``, ``reopened``, ``occurred`` (counted on the open
    alert) or ``duplicate`` (an occurrence not newer than the last one counted)."""

    alert_id: int
    outcome: str


def _key(values: dict[str, Any]) -> tuple[Any, ...]:
    if values.get("asset_id") is not None:
        return (Alert.asset_id == values["asset_id"], Alert.condition == values["condition"])
    return (Alert.subject == values["subject"], Alert.condition == values["condition"])


def raise_alert(conn: Connection, values: dict[str, Any], ts: int, now: int, policy: AlertPolicy) -> Raised:
    """Open, reopen or count an alert of ``values``' key (see the module's docstring)."""
    key = _key(values)
    if policy.reopen_window_s > 0:
        reopened = _reopen(conn, key, values, ts, now, int(policy.reopen_window_s * NS))
        if reopened is not None:
            return Raised(reopened, "reopened")
    for _ in range(3):  # the open alert may be resolved between the two statements
        alert_id = conn.execute(
            conflict_insert(conn, Alert)
            .values(
                state=ALERT.initial,
                opened_ns=now,
                updated_ns=now,
                cleared_ns=None,
                occurrences=1,
                last_occurrence_ns=ts,
                **values,
            )
            .on_conflict_do_nothing()
            .returning(Alert.id)
        ).scalar_one_or_none()
        if alert_id is not None:
            emit(
                conn,
                DomainEvent.move(
                    ALERT.entity,
                    alert_id,
                    None,
                    ALERT.initial,
                    now,
                    detail={"evidence": values["evidence"], "model": values.get("model", "")},
                ),
            )
            return Raised(alert_id, "opened")
        counted = _count(conn, key, ts, now)
        if counted is not None:
            return counted
    raise RuntimeError(f"alert {values['condition']}: no open alert to count and none could be opened")


def _count(conn: Connection, key: tuple[Any, ...], ts: int, now: int) -> Raised | None:
    """Count an occurrence on the open alert of ``key`` when ``ts`` is newer than the last
    one counted ("duplicate" otherwise); None when no alert of the key is open."""
    open_ = (*key, Alert.state.in_(sorted(ALERT.open)))
    row = conn.execute(
        update(Alert)
        .where(*open_, or_(Alert.last_occurrence_ns.is_(None), Alert.last_occurrence_ns < ts))
        .values(occurrences=Alert.occurrences + 1, last_occurrence_ns=ts, cleared_ns=None, updated_ns=now)
        .returning(Alert.id, Alert.state, Alert.occurrences)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        held = conn.scalar(select(Alert.id).where(*open_).with_for_update())
        return None if held is None else Raised(held, "duplicate")
    emit(
        conn,
        DomainEvent.move(
            ALERT.entity,
            row.id,
            row.state,
            row.state,
            now,
            detail={"occurrences": row.occurrences, "occurred_ns": ts},
            kind="alert.occurred",
        ),
    )
    return Raised(row.id, "occurred")


def _reopen(
    conn: Connection, key: tuple[Any, ...], values: dict[str, Any], ts: int, now: int, window_ns: int
) -> int | None:
    recent = conn.scalar(
        select(Alert.id)
        .where(*key, Alert.state == "resolved", Alert.resolved_ns >= now - window_ns)
        .order_by(Alert.resolved_ns.desc(), Alert.id.desc())
        .limit(1)
    )
    if recent is None:
        return None
    nested = conn.begin_nested()
    try:
        row = conn.execute(
            update(Alert)
            .where(Alert.id == recent, Alert.state == "resolved")
            .values(
                state=ALERT.initial,
                reopened=Alert.reopened + 1,
                occurrences=Alert.occurrences + 1,
                last_occurrence_ns=ts,
                cleared_ns=None,
                resolved_ns=None,
                updated_ns=now,
                severity=values["severity"],
                evidence=values["evidence"],
                escalate_at_ns=None,
            )
            .returning(Alert.id, Alert.occurrences, Alert.reopened)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        nested.commit()
    except IntegrityError:  # an alert of this key was opened meanwhile: count on it instead
        nested.rollback()
        return None
    if row is None:  # another worker reopened it first
        return None
    assert ALERT.initial in ALERT.engine_moves["resolved"]  # the engine's move (``_lifecycle``)
    emit(
        conn,
        DomainEvent.move(
            ALERT.entity,
            row.id,
            "resolved",
            ALERT.initial,
            now,
            detail={"occurrences": row.occurrences, "reopened": row.reopened, "evidence": values["evidence"]},
            kind="alert.reopened",
        ),
    )
    return int(row.id)


def auto_resolve(conn: Connection, policy: AlertPolicy, now: int) -> list[int]:
    """Resolve every open alert whose condition has been cleared for ``auto_resolve_after_s``."""
    if policy.auto_resolve_after_s <= 0:
        return []
    limit = now - int(policy.auto_resolve_after_s * NS)
    rule = ConditionRule.__table__
    rows = conn.execute(
        select(Alert.id, Alert.state, Alert.cleared_ns, rule.c.phase)
        .select_from(Alert.__table__.outerjoin(rule, rule.c.id == Alert.rule_id))
        .where(
            Alert.state.in_(sorted(ALERT.open)),
            Alert.cleared_ns.is_not(None),
            Alert.cleared_ns <= limit,
            Alert.condition.not_in(sorted(SILENCE_CONDITIONS)),  # the silence sweep resolves those
        )
        .order_by(Alert.id)
        .with_for_update(of=Alert.__table__, skip_locked=True)
    ).all()
    done: list[int] = []
    for r in rows:
        if r.phase in ACTIVE_PHASES:
            continue
        conn.execute(
            update(Alert)
            .where(Alert.id == r.id)
            .values(state="resolved", resolved_ns=now, updated_ns=now, escalate_at_ns=None)
            .execution_options(synchronize_session=False)
        )
        emit(
            conn,
            DomainEvent.move(
                ALERT.entity,
                r.id,
                r.state,
                "resolved",
                now,
                SYSTEM_ACTOR,
                {"auto": True, "cleared_for_s": (now - r.cleared_ns) / NS},
            ),
        )
        done.append(r.id)
    return done


def recipients_for(conn: Connection, asset_id: str | None, level: int) -> list[str]:
    """Who is told of an asset's alert at escalation ``level``: the first ``level + 1`` of
    the asset's recipients (the catalog's order)."""
    if asset_id is None:
        return []
    listed = conn.scalar(select(Asset.recipients).where(Asset.id == asset_id)) or []
    return [str(r) for r in listed[: level + 1]]


def alert_gateway(conn: Connection, alert: Any) -> str:
    """The gateway whose ``alert`` topic carries this alert: the asset's sensor's gateway,
    the gateway a subject names, else the site's id."""
    if alert.asset_id is not None:
        gw = conn.scalar(
            select(Device.gateway).where(Device.asset_id == alert.asset_id).order_by(Device.gateway).limit(1)
        )
        if gw:
            return str(gw)
    subject = str(alert.subject or "")
    if subject.startswith("gateway:"):
        return subject.split(":", 1)[1]
    if subject.startswith("device:"):
        return subject.split(":", 1)[1].split("/", 1)[0]
    return str(alert.site)


def queue_notice(conn: Connection, alert_id: int, event: str, now: int, actor: str = SYSTEM_ACTOR) -> None:
    """Write the technicians' notice of ``event`` on ``alert_id`` into the outbox."""
    if event not in NOTICE_EVENTS:
        raise ValueError(f"unknown notice event {event!r}")
    a = conn.execute(select(Alert.__table__).where(Alert.id == alert_id)).one()
    gateway = alert_gateway(conn, a)
    try:
        validate_gateway_id(gateway)
    except TopicError:
        return  # no topic can carry it; the API's feed still has it
    wo = conn.scalar(select(WorkOrder.id).where(WorkOrder.alert_id == alert_id).order_by(WorkOrder.id.desc()))
    evidence = a.evidence or {}
    summary = _summary(a, evidence)
    payload = {
        "alert_id": a.id,
        "event": event,
        "site": a.site,
        "gateway": gateway,
        "asset_id": a.asset_id,
        "subject": a.subject,
        "condition": a.condition,
        "severity": a.severity,
        "state": a.state,
        "occurrences": a.occurrences,
        "escalation_level": a.escalation_level,
        "recipients": list(a.recipients or []),
        "model": a.model,
        "opened_ns": a.opened_ns,
        "work_order_id": wo,
        "summary": summary,
        "actor": actor,
        "ts": now,
    }
    conn.execute(insert(AlertNotice).values(alert_id=a.id, gateway=gateway, payload=payload, created_ns=now))


def escalation_webhook(conn: Connection, alert_id: int, escalation: dict[str, Any], now: int) -> int | None:
    """Enqueue ``alert.escalated`` for ``alert_id`` (as it is after escalating) in the
    caller's transaction: who is told now, and what of. ``escalation`` is the detail of the
    ``alert.escalated`` domain event. One delivery per alert and level (its idempotency
    key); deliveries of one alert go out in order (its group)."""
    a = conn.execute(select(Alert.__table__).where(Alert.id == alert_id)).one()
    wo = conn.scalar(select(WorkOrder.id).where(WorkOrder.alert_id == alert_id).order_by(WorkOrder.id.desc()))
    level = int(escalation["escalation_level"])
    data = {
        "alert_id": a.id,
        "site": a.site,
        "asset_id": a.asset_id,
        "subject": a.subject,
        "condition": a.condition,
        "severity": a.severity,
        "was": escalation.get("was"),
        "state": a.state,
        "escalation_level": level,
        "recipients": list(a.recipients or []),
        "added": list(escalation.get("added") or []),
        "unacknowledged_s": escalation.get("unacknowledged_s"),
        "opened_ns": a.opened_ns,
        "work_order_id": wo,
        "summary": _summary(a, a.evidence or {}),
        "what_to_check": a.what_to_check,
    }
    return enqueue_webhook(
        conn, "alert.escalated", f"alert:{a.id}:escalated:{level}", f"alert:{a.id}", data, now
    )


def _summary(a: Any, evidence: dict[str, Any]) -> str:
    what = a.asset_id or a.subject
    if evidence.get("engine") == "detector":
        diag = (evidence.get("diagnosis") or {}).get("label")
        text = (
            f"{a.condition} on {what}: anomaly score {evidence.get('score')} >= {evidence.get('threshold')}"
        )
        return text + (f", diagnosed {diag}" if diag and diag != "undiagnosed" else "")
    if "metric" in evidence:
        return (
            f"{a.condition} on {what}: {evidence['metric']} above {evidence.get('limit')} "
            f"(max {evidence.get('max_value')})"
        )
    return f"{a.condition} on {what}"
