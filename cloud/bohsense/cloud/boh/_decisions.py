"""What a decision does: one table of data (``DECISION_EFFECTS``) and one executor.

Rule engines decide (``rules``: ``FaultConfirmed``, ``FaultCleared``,
``ReplenishmentNeeded``); the silence sweep decides that a subject went silent; the
escalation job decides that an alert was left unacknowledged too long. None of them
writes. ``DECISION_EFFECTS`` maps each decision kind to the effects it has, each from a
severity on::

    fault_confirmed       open an alert, create a work order, schedule its escalation,
                          notify (critical)
    fault_cleared         mark the alert's condition cleared
    replenishment_needed  propose (or re-size) a replenishment order
    subject_silent        schedule the escalation of the silence alert
    alert_escalated       create a work order (major and up, when the alert has an asset and
                          no open one), notify (major and up)
    alarm_raised          a gateway's local alarm (``device.alarm``, active): open an alert
                          about the device, schedule its escalation, notify (critical)
    alarm_cleared         the same alarm cleared at the edge: mark the alert's condition cleared
    stock_disagreement    RFID and weight counts of a location differ beyond the tolerance:
                          open an alert with both numbers, notify (major and up)
    stock_agreement       they agree again: mark the alert's condition cleared
    phantom_inventory     book stock above 0, shelf sensed empty for hours, no sale: open an
                          alert, schedule its escalation, notify (major and up)
    shrink_suspected      sensed units gone without sales: open an alert, schedule escalation
    departure_unsold      tagged items left by a door with no sale matched: open an alert
    phantom_cleared / shrink_cleared: mark the alert's condition cleared

``Executor`` carries the effects out in the caller's transaction, each writing its domain
events (``_domain_events``). Changing a row of the table changes what the core does, with
no code path to edit; a test monkeypatches it.

Escalation: the effect ``schedule_escalation`` sets ``alerts.escalate_at_ns`` to the
time the alert was opened plus its severity's delay (``escalation_after_s``, 0: never);
the scheduler's escalation job (``escalate``) escalates each alert still ``open``
(acknowledging stops it) once that time is reached, raises its ``escalation_level``,
writes ``alert.escalated`` and runs the ``alert_escalated`` effects. An alert escalates
once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, insert, or_, select, text, update

from ._cache import Location
from ._db import conflict_insert
from ._domain_events import DomainEvent, emit
from ._handlers import AlarmReported
from ._lifecycle import ALERT, PROPOSAL, WORK_ORDER
from ._models import OPEN_PROPOSAL_WHERE, Alert, Asset, ReplenishmentProposal, WorkOrder
from ._proposals import ProposalPolicy, auto_approve, flags_for, work_order_webhook
from ._work_orders import SEVERITY_PRIORITY
from .rules import ConditionParams, FaultCleared, FaultConfirmed, ReplenishmentNeeded, severity_rank

__all__ = [
    "CREATE_WORK_ORDER",
    "DECISION_EFFECTS",
    "DEFAULT_ESCALATION_AFTER_S",
    "MARK_CLEARED",
    "NOTIFY",
    "OPEN_ALERT",
    "PROPOSE_REPLENISHMENT",
    "SCHEDULE_ESCALATION",
    "Effect",
    "Executor",
    "StockSignal",
    "effects_for",
]

OPEN_ALERT = "open_alert"
CREATE_WORK_ORDER = "create_work_order"
SCHEDULE_ESCALATION = "schedule_escalation"
NOTIFY = "notify"
MARK_CLEARED = "mark_cleared"
PROPOSE_REPLENISHMENT = "propose_replenishment"
NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Effect:
    """``action`` for decisions of ``min_severity`` or more severe."""

    action: str
    min_severity: str = "info"


#: decision kind -> its effects, in the order carried out (see the module's docstring)
DECISION_EFFECTS: dict[str, tuple[Effect, ...]] = {
    FaultConfirmed.kind: (
        Effect(OPEN_ALERT),
        Effect(CREATE_WORK_ORDER),
        Effect(SCHEDULE_ESCALATION),
        Effect(NOTIFY, "critical"),
    ),
    FaultCleared.kind: (Effect(MARK_CLEARED),),
    ReplenishmentNeeded.kind: (Effect(PROPOSE_REPLENISHMENT),),
    "subject_silent": (Effect(SCHEDULE_ESCALATION),),
    "alarm_raised": (Effect(OPEN_ALERT), Effect(SCHEDULE_ESCALATION), Effect(NOTIFY, "critical")),
    "alarm_cleared": (Effect(MARK_CLEARED),),
    "alert_escalated": (Effect(CREATE_WORK_ORDER, "major"), Effect(NOTIFY, "major")),
    # stock truth (``_stock_truth``): signals about a stock location, with their evidence
    "stock_disagreement": (Effect(OPEN_ALERT), Effect(NOTIFY, "major")),
    "stock_agreement": (Effect(MARK_CLEARED),),
    "phantom_inventory": (Effect(OPEN_ALERT), Effect(SCHEDULE_ESCALATION), Effect(NOTIFY, "major")),
    "phantom_cleared": (Effect(MARK_CLEARED),),
    "shrink_suspected": (Effect(OPEN_ALERT), Effect(SCHEDULE_ESCALATION)),
    "shrink_cleared": (Effect(MARK_CLEARED),),
    "departure_unsold": (Effect(OPEN_ALERT),),
}

#: an alert left unacknowledged this long (by severity) escalates; 0: never
DEFAULT_ESCALATION_AFTER_S: Mapping[str, float] = {
    "critical": 15 * 60.0,
    "major": 60 * 60.0,
    "warning": 4 * 3600.0,
    "info": 0.0,
}


def effects_for(kind: str, severity: str) -> list[str]:
    """The actions of a decision of ``kind`` at ``severity``, per ``DECISION_EFFECTS``."""
    rank = severity_rank(severity)
    return [e.action for e in DECISION_EFFECTS.get(kind, ()) if rank >= severity_rank(e.min_severity)]


@dataclass(frozen=True, slots=True)
class StockSignal:
    """A decision about a stock location or a site's SKU (``_stock_truth``): ``kind`` is a
    row of ``DECISION_EFFECTS``; ``active`` False clears the alert of ``subject`` and
    ``condition``."""

    kind: str
    site: str
    subject: str
    condition: str
    active: bool
    severity: str = "warning"
    evidence: dict[str, Any] | None = None
    what_to_check: str = ""
    ts_ns: int = 0


class Executor:
    """Carries out decisions per ``DECISION_EFFECTS`` in the caller's transaction."""

    def __init__(
        self,
        escalation_after_s: Mapping[str, float] | None = None,
        proposal_policy: ProposalPolicy | None = None,
    ) -> None:
        after = {**DEFAULT_ESCALATION_AFTER_S, **(escalation_after_s or {})}
        self.escalation_after_ns = {k: int(v * NS) for k, v in after.items()}
        self.proposal_policy = proposal_policy or ProposalPolicy()

    # -- condition decisions -------------------------------------------------------------

    def fault(self, conn: Connection, p: ConditionParams, d: FaultConfirmed, now: int) -> None:
        actions = effects_for(d.kind, d.severity)
        if OPEN_ALERT not in actions:
            return
        site = conn.execute(select(Asset.site, Asset.name).where(Asset.id == p.asset_id)).one()
        same = (Alert.asset_id == p.asset_id, Alert.condition == p.condition)
        alert_id = _open_alert(
            conn,
            same,
            {"condition": "active", **d.evidence},
            now,
            asset_id=p.asset_id,
            site=site.site,
            condition=p.condition,
            severity=d.severity,
            evidence=d.evidence,
            what_to_check=p.what_to_check,
        )
        if alert_id is None:
            return
        if CREATE_WORK_ORDER in actions:
            title = f"{p.condition} on {site.name or p.asset_id}"
            description = (
                f"{p.metric} above {p.limit:g} for {d.evidence['duration_s']:.0f} s "
                f"(max {d.evidence['max_value']:g}). What to check: {p.what_to_check or 'inspect the asset'}"
            )
            self._work_order(conn, alert_id, p.asset_id, site.site, title, description, d.severity, now)
        self._after_open(conn, actions, alert_id, d.kind, d.severity, now)

    def cleared(self, conn: Connection, p: ConditionParams, d: FaultCleared, now: int) -> None:
        if MARK_CLEARED in effects_for(d.kind, d.severity):
            same = (Alert.asset_id == p.asset_id, Alert.condition == p.condition)
            _mark(conn, same, d.ts_ns, now, {"condition": "cleared", **d.evidence}, "alert.cleared")

    # -- local alarms (``device.alarm`` events) ------------------------------------------

    def alarm(self, conn: Connection, d: AlarmReported, now: int) -> None:
        """An alarm raised or cleared at the edge: one open alert per device and alarm code
        (subject ``device:<gateway>/<device>``, condition ``alarm:<code>``)."""
        subject = f"device:{d.gateway}/{d.device}"
        condition = f"alarm:{d.code}"[:64]
        same = (Alert.subject == subject, Alert.condition == condition)
        if not d.active:
            if MARK_CLEARED in effects_for("alarm_cleared", d.severity):
                _mark(conn, same, d.ts, now, {"condition": "cleared", "alarm": d.code}, "alert.cleared")
            return
        actions = effects_for("alarm_raised", d.severity)
        if OPEN_ALERT not in actions:
            return
        evidence = {
            "alarm": d.code,
            "message": d.message,
            "raised_ns": d.ts,
            "gateway": d.gateway,
            "device": d.device,
        }
        alert_id = _open_alert(
            conn,
            same,
            {"condition": "active", "alarm": d.code},
            now,
            asset_id=None,
            subject=subject,
            site=d.site,
            condition=condition,
            severity=d.severity,
            evidence=evidence,
            what_to_check=d.message,
        )
        if alert_id is not None:
            self._after_open(conn, actions, alert_id, "alarm_raised", d.severity, now)

    # -- stock signals (``_stock_truth``) ----------------------------------------------

    def stock_signal(self, conn: Connection, d: StockSignal, now: int) -> int | None:
        """Open (or, inactive, clear) the alert of ``d.subject`` and ``d.condition``; the id
        of an alert opened, else None."""
        same = (Alert.subject == d.subject, Alert.condition == d.condition)
        actions = effects_for(d.kind, d.severity)
        if not d.active:
            if MARK_CLEARED in actions:
                detail = {"condition": "cleared", **(d.evidence or {})}
                _mark(conn, (*same, Alert.cleared_ns.is_(None)), d.ts_ns or now, now, detail, "alert.cleared")
            return None
        if OPEN_ALERT not in actions:
            return None
        evidence = dict(d.evidence or {})
        alert_id = _open_alert(
            conn,
            same,
            {"condition": "active", **evidence},
            now,
            asset_id=None,
            subject=d.subject,
            site=d.site,
            condition=d.condition,
            severity=d.severity,
            evidence=evidence,
            what_to_check=d.what_to_check,
        )
        if alert_id is not None:
            self._after_open(conn, actions, alert_id, d.kind, d.severity, now)
        return alert_id

    # -- silence and escalation ----------------------------------------------------------

    def silent(self, conn: Connection, alert_id: int, severity: str, now: int) -> None:
        """The silence sweep opened ``alert_id``: the ``subject_silent`` effects."""
        self._after_open(
            conn, effects_for("subject_silent", severity), alert_id, "subject_silent", severity, now
        )

    def escalate(self, conn: Connection, now: int) -> list[int]:
        """Escalate every ``open`` alert whose escalation time has come; their ids."""
        due = conn.execute(
            select(Alert.__table__)
            .where(
                Alert.state == ALERT.initial,
                Alert.escalate_at_ns.is_not(None),
                Alert.escalate_at_ns <= now,
            )
            .order_by(Alert.id)
            .with_for_update()
        ).all()
        for a in due:
            level = a.escalation_level + 1
            conn.execute(
                update(Alert)
                .where(Alert.id == a.id)
                .values(escalation_level=level, escalate_at_ns=None, updated_ns=now)
                .execution_options(synchronize_session=False)
            )
            emit(
                conn,
                DomainEvent.move(
                    ALERT.entity,
                    a.id,
                    a.state,
                    a.state,
                    now,
                    detail={
                        "escalation_level": level,
                        "severity": a.severity,
                        "unacknowledged_s": (now - a.opened_ns) / NS,
                    },
                    kind="alert.escalated",
                ),
            )
            actions = effects_for("alert_escalated", a.severity)
            if CREATE_WORK_ORDER in actions:
                self._escalation_work_order(conn, a, level, now)
            if NOTIFY in actions:
                self._notify(conn, a.id, "alert_escalated", a.severity, now)
        return [a.id for a in due]

    def _after_open(
        self, conn: Connection, actions: list[str], alert_id: int, kind: str, severity: str, now: int
    ) -> None:
        if SCHEDULE_ESCALATION in actions:
            after = self.escalation_after_ns.get(severity, 0)
            if after > 0:
                conn.execute(
                    update(Alert)
                    .where(Alert.id == alert_id)
                    .values(escalate_at_ns=now + after)
                    .execution_options(synchronize_session=False)
                )
        if NOTIFY in actions:
            self._notify(conn, alert_id, kind, severity, now)

    @staticmethod
    def _notify(conn: Connection, alert_id: int, kind: str, severity: str, now: int) -> None:
        emit(
            conn,
            DomainEvent(
                "notification.requested",
                "notification",
                f"alert:{alert_id}",
                None,
                "requested",
                now,
                detail={"alert_id": alert_id, "decision": kind, "severity": severity},
            ),
        )

    def _escalation_work_order(self, conn: Connection, a: Row[Any], level: int, now: int) -> None:
        if a.asset_id is None:  # a gateway's alert: no asset to work on
            return
        has_open = conn.scalar(
            select(WorkOrder.id).where(
                WorkOrder.alert_id == a.id, WorkOrder.state.in_(sorted(WORK_ORDER.open))
            )
        )
        if has_open is not None:
            return
        title = f"{a.condition} on {a.asset_id}: unacknowledged (escalation {level})"
        description = f"Alert {a.id} ({a.severity}) was not acknowledged. What to check: {a.what_to_check or 'inspect the asset'}"
        self._work_order(conn, a.id, a.asset_id, a.site, title[:200], description, a.severity, now)

    @staticmethod
    def _work_order(
        conn: Connection,
        alert_id: int,
        asset_id: str,
        site: str,
        title: str,
        description: str,
        severity: str,
        now: int,
    ) -> None:
        wo = conn.execute(
            insert(WorkOrder)
            .values(
                alert_id=alert_id,
                asset_id=asset_id,
                site=site,
                kind="maintenance",
                title=title,
                description=description,
                state=WORK_ORDER.initial,
                created_ns=now,
                updated_ns=now,
                note="",
                priority=SEVERITY_PRIORITY.get(severity, "normal"),
                assignee="",
                parts=[],
                labour=[],
                resolution_code="",
                root_cause="",
                notes=[],
                attachments=[],
            )
            .returning(WorkOrder.__table__)
        ).one()
        wo_id = wo.id
        work_order_webhook(conn, wo, now)
        emit(
            conn,
            DomainEvent.move(
                WORK_ORDER.entity, wo_id, None, WORK_ORDER.initial, now, detail={"alert_id": alert_id}
            ),
        )

    # -- replenishment -------------------------------------------------------------------

    def replenish(
        self,
        conn: Connection,
        loc_id: int,
        loc: Location,
        units: float,
        d: ReplenishmentNeeded,
        current: Row[Any] | None,
        now: int,
    ) -> None:
        """Open a proposal, or re-size the open one while nobody approved it, in one upsert.

        The partial unique index (one open proposal per sku+location) is the arbiter: the
        INSERT of a second open proposal turns into an UPDATE of the open one, which changes
        it only while it is ``proposed`` and sized by the rule, and only when its numbers
        moved. Two workers deciding at once therefore leave one proposal, re-sized by the
        later one. Flags are computed first; an unflagged proposal under its class's limits
        is approved at once (``_proposals``).
        """
        if PROPOSE_REPLENISHMENT not in effects_for(d.kind, d.severity):
            return
        e = d.explanation
        fields = {
            "sensed_units": units,
            "reorder_point": float(e.get("reorder_point", loc.reorder_point)),
            "target": float(e.get("order_up_to", e.get("target", loc.target))),
            "safety_stock": float(e.get("safety_stock", loc.safety_stock)),
            "pack_size": loc.pack_size,
            "quantity": d.quantity,
            "explanation": d.explanation,
            "priority": d.priority,
        }
        watched = ("quantity", "priority", "reorder_point", "target", "safety_stock", "pack_size")
        if current is not None and (
            current.state != PROPOSAL.initial
            or current.quantity_source != "rule"
            or all(getattr(current, k) == fields[k] for k in watched)
        ):
            return  # the open proposal (locked by the caller) stays as it is: no statement needed
        policy = self.proposal_policy
        flagged = flags_for(conn, policy.flags, loc_id, d.quantity, d.explanation)
        fields["flags"] = flagged
        p = ReplenishmentProposal
        stmt = conflict_insert(conn, ReplenishmentProposal).values(
            location_id=loc_id,
            site=loc.site,
            sku=loc.sku,
            location=loc.location,
            state=PROPOSAL.initial,
            created_ns=now,
            updated_ns=now,
            quantity_source="rule",
            approval="",
            received_units=0,
            revision=0,
            **fields,
        )
        x = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["site", "sku", "location"],
            index_where=text(OPEN_PROPOSAL_WHERE),
            set_={
                **{k: getattr(x, k) for k in (*fields, "updated_ns")},
                "revision": p.revision + 1,
            },
            where=and_(
                p.state == PROPOSAL.initial,
                p.quantity_source == "rule",
                or_(*(getattr(p, k) != getattr(x, k) for k in watched)),
            ),
        )
        row = conn.execute(stmt.returning(p.id, p.revision)).one_or_none()
        if row is None:  # an open proposal the rule no longer sizes, or nothing moved
            return
        flags = [f["flag"] for f in flagged]
        if row.revision == 0:
            detail: dict[str, Any] = {"quantity": d.quantity, "source": e.get("source", "catalog")}
            if flags:
                detail["flags"] = flags
            emit(conn, DomainEvent.move(PROPOSAL.entity, row.id, None, PROPOSAL.initial, now, detail=detail))
        else:
            detail = {"quantity": d.quantity, "revision": row.revision}
            if current is not None and current.id == row.id:
                detail["was"] = current.quantity
                params = ("reorder_point", "target", "safety_stock", "pack_size")
                same = all(getattr(current, k) == fields[k] for k in params)
                detail["followed"] = "stock" if same else "parameters"
                if fields["priority"] != current.priority:
                    detail["priority"] = fields["priority"]
            if flags:
                detail["flags"] = flags
            emit(
                conn,
                DomainEvent.move(
                    PROPOSAL.entity,
                    row.id,
                    PROPOSAL.initial,
                    PROPOSAL.initial,
                    now,
                    detail=detail,
                    kind="replenishment_proposal.revised",
                ),
            )
        auto_approve(conn, policy, row.id, now)


def _open_alert(
    conn: Connection, same: tuple[Any, ...], active: dict[str, Any], now: int, **values: Any
) -> int | None:
    """Open an alert (writing ``alert.opened``) and return its id; when one of the same
    subject is still open (the partial unique indexes: one open alert per asset or subject
    and condition), its condition is active again: it is reactivated and None returned."""
    alert_id = conn.execute(
        conflict_insert(conn, Alert)
        .values(state=ALERT.initial, opened_ns=now, updated_ns=now, cleared_ns=None, **values)
        .on_conflict_do_nothing()
        .returning(Alert.id)
    ).scalar_one_or_none()
    if alert_id is None:
        _mark(conn, (*same, Alert.cleared_ns.is_not(None)), None, now, active, "alert.reactivated")
        return None
    emit(
        conn,
        DomainEvent.move(
            ALERT.entity, alert_id, None, ALERT.initial, now, detail={"evidence": values["evidence"]}
        ),
    )
    return alert_id


def _mark(
    conn: Connection,
    where: tuple[Any, ...],
    cleared_ns: int | None,
    now: int,
    detail: dict[str, Any],
    kind: str,
) -> None:
    """Set ``cleared_ns`` of the open alerts matching ``where`` (None: active again), each
    with a domain event ``kind``."""
    rows = conn.execute(
        update(Alert)
        .where(*where, Alert.state.in_(sorted(ALERT.open)))
        .values(cleared_ns=cleared_ns, updated_ns=now)
        .returning(Alert.id, Alert.state)
        .execution_options(synchronize_session=False)
    ).all()
    emit(
        conn,
        *(
            DomainEvent.move(ALERT.entity, i, state, state, now, detail=detail, kind=kind)
            for i, state in rows
        ),
    )
