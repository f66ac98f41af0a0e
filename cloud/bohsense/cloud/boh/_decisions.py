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
    subject_silent        schedule the escalation of the silence alert, publish
    alert_escalated       raise the severity a step and tell the next recipient, create a work
                          order (major and up, when the alert has an asset and no open one),
                          notify (major and up), publish to technicians, send the
                          ``alert.escalated`` webhook (the ``escalations`` endpoint)
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
    anomaly_detected      a detector rule's score stayed over its threshold: open an alert of
                          the diagnosed fault type, a work order (warning and up) with the
                          evidence, schedule its escalation, notify (critical), publish
    anomaly_cleared       the detector's score stayed below its clear level: mark it cleared
    anomaly_diagnosed     a diagnosis after an undiagnosed confirmation: the open alert takes
                          the diagnosed class as fault type, its work order that fault's
                          checks and spare parts; publish
    alert_reopened        a recurrence within the reopen window reopened a resolved alert:
                          a work order if none is open, escalation, notify (critical), publish
    alert_occurred        a recurrence counted on the open alert: publish
    alert_auto_resolved   cleared long enough: publish (the resolution is the decision's)
    work_order_no_fault   a work order closed ``no_fault_found``: lower the rule's confidence
    work_order_confirmed  closed ``fault_confirmed`` / ``replaced_part`` / ``repaired``: store
                          a fault label for training

What one open alert per key, occurrences and reopening mean is ``_alerts``'.

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

from sqlalchemy import Connection, Row, and_, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from ._alerts import (
    AlertPolicy,
    Raised,
    auto_resolve,
    escalation_webhook,
    queue_notice,
    raise_alert,
    recipients_for,
)
from ._cache import Location
from ._db import conflict_insert
from ._domain_events import DomainEvent, emit
from ._handlers import AlarmReported
from ._lifecycle import ALERT, PROPOSAL, WORK_ORDER
from ._models import (
    OPEN_PROPOSAL_WHERE,
    Alert,
    Asset,
    ConditionRule,
    Device,
    FaultLabel,
    ReplenishmentProposal,
    WorkOrder,
)
from ._proposals import ProposalPolicy, auto_approve, flags_for, work_order_webhook
from ._work_order_evidence import work_order_content
from ._work_orders import SEVERITY_PRIORITY
from .rules import (
    SEVERITIES,
    AnomalyCleared,
    AnomalyDetected,
    ConditionParams,
    FaultCleared,
    FaultConfirmed,
    ReplenishmentNeeded,
    severity_rank,
)

__all__ = [
    "CONFIRMED_CODES",
    "CREATE_WORK_ORDER",
    "DECISION_EFFECTS",
    "DEFAULT_ESCALATION_AFTER_S",
    "DELIVER_WEBHOOK",
    "DIAGNOSE",
    "LOWER_CONFIDENCE",
    "MARK_CLEARED",
    "NOTIFY",
    "NO_FAULT_CODES",
    "OPEN_ALERT",
    "PROPOSE_REPLENISHMENT",
    "PUBLISH",
    "RAISE_SEVERITY",
    "SCHEDULE_ESCALATION",
    "STORE_LABEL",
    "Effect",
    "Executor",
    "StockSignal",
    "effects_for",
    "resolution_kind",
]

OPEN_ALERT = "open_alert"
CREATE_WORK_ORDER = "create_work_order"
SCHEDULE_ESCALATION = "schedule_escalation"
NOTIFY = "notify"
MARK_CLEARED = "mark_cleared"
PROPOSE_REPLENISHMENT = "propose_replenishment"
#: a notice for technicians (the outbox ``alert_notices``, published on MQTT after commit)
PUBLISH = "publish"
RAISE_SEVERITY = "raise_severity"
#: a signed webhook through the outbox (``_webhooks``), delivered after the commit
DELIVER_WEBHOOK = "deliver_webhook"
#: name the open alert's fault type after a diagnosis that came later
DIAGNOSE = "diagnose"
LOWER_CONFIDENCE = "lower_confidence"
STORE_LABEL = "store_label"
NS = 1_000_000_000

#: resolution codes of a closed work order and what they feed back ("-" and "_" alike)
NO_FAULT_CODES = frozenset({"no_fault_found"})
CONFIRMED_CODES = frozenset({"fault_confirmed", "replaced_part", "repaired"})


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
        Effect(PUBLISH),
    ),
    FaultCleared.kind: (Effect(MARK_CLEARED),),
    ReplenishmentNeeded.kind: (Effect(PROPOSE_REPLENISHMENT),),
    "subject_silent": (Effect(SCHEDULE_ESCALATION), Effect(PUBLISH)),
    "alarm_raised": (
        Effect(OPEN_ALERT),
        Effect(SCHEDULE_ESCALATION),
        Effect(NOTIFY, "critical"),
        Effect(PUBLISH),
    ),
    "alarm_cleared": (Effect(MARK_CLEARED),),
    "alert_escalated": (
        Effect(RAISE_SEVERITY),
        Effect(CREATE_WORK_ORDER, "major"),
        Effect(NOTIFY, "major"),
        Effect(PUBLISH),
        Effect(DELIVER_WEBHOOK),
    ),
    AnomalyDetected.kind: (
        Effect(OPEN_ALERT),
        Effect(CREATE_WORK_ORDER, "warning"),
        Effect(SCHEDULE_ESCALATION),
        Effect(NOTIFY, "critical"),
        Effect(PUBLISH),
    ),
    AnomalyCleared.kind: (Effect(MARK_CLEARED),),
    "anomaly_diagnosed": (Effect(DIAGNOSE), Effect(PUBLISH)),
    "alert_reopened": (
        Effect(CREATE_WORK_ORDER, "warning"),
        Effect(SCHEDULE_ESCALATION),
        Effect(NOTIFY, "critical"),
        Effect(PUBLISH),
    ),
    "alert_occurred": (Effect(PUBLISH),),
    "alert_auto_resolved": (Effect(PUBLISH),),
    "work_order_no_fault": (Effect(LOWER_CONFIDENCE),),
    "work_order_confirmed": (Effect(STORE_LABEL),),
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


def resolution_kind(code: str) -> str | None:
    """The decision a work order closed with resolution ``code`` makes (None: none)."""
    norm = code.strip().lower().replace("-", "_").replace(" ", "_")
    if norm in NO_FAULT_CODES:
        return "work_order_no_fault"
    if norm in CONFIRMED_CODES:
        return "work_order_confirmed"
    return None


def _higher(severity: str) -> str:
    rank = severity_rank(severity)
    return SEVERITIES[min(rank + 1, len(SEVERITIES) - 1)]


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
        policy: AlertPolicy | None = None,
        proposal_policy: ProposalPolicy | None = None,
    ) -> None:
        after = {**DEFAULT_ESCALATION_AFTER_S, **(escalation_after_s or {})}
        self.escalation_after_ns = {k: int(v * NS) for k, v in after.items()}
        self.policy = policy or AlertPolicy()
        self.proposal_policy = proposal_policy or ProposalPolicy()

    # -- condition decisions -------------------------------------------------------------

    def fault(self, conn: Connection, p: ConditionParams, d: FaultConfirmed, now: int) -> None:
        self._raise(conn, p, d.kind, d.severity, p.condition, d.evidence, d.ts_ns, "threshold", now)

    def anomaly(self, conn: Connection, p: ConditionParams, d: AnomalyDetected, now: int) -> None:
        if d.refines:
            self._diagnosed(conn, p, d, now)
            return
        self._raise(conn, p, d.kind, d.severity, d.fault or p.condition, d.evidence, d.ts_ns, d.model, now)

    def _diagnosed(self, conn: Connection, p: ConditionParams, d: AnomalyDetected, now: int) -> None:
        """A diagnosis after the fault was confirmed undiagnosed: the rule's open alert takes
        the diagnosed class as its fault type, with the diagnosis in its evidence, and its
        open work order the checks and spare parts of that fault (``DIAGNOSE``). When an
        open alert of that class exists already, it stays as it is."""
        if DIAGNOSE not in effects_for("anomaly_diagnosed", d.severity):
            return
        row = conn.execute(
            select(Alert.id, Alert.evidence, Alert.state)
            .where(
                Alert.rule_id == p.rule_id,
                Alert.condition == d.refines[:64],
                Alert.state.in_(sorted(ALERT.open)),
            )
            .with_for_update()
        ).one_or_none()
        if row is None:
            return
        evidence = {**(row.evidence or {}), "diagnosis": d.evidence.get("diagnosis"), "diagnosed": d.evidence}
        nested = conn.begin_nested()
        try:
            conn.execute(
                update(Alert)
                .where(Alert.id == row.id)
                .values(condition=d.fault[:64], evidence=evidence, updated_ns=now)
                .execution_options(synchronize_session=False)
            )
            nested.commit()
        except IntegrityError:  # an open alert of the diagnosed class exists: keep both apart
            nested.rollback()
            return
        emit(
            conn,
            DomainEvent.move(
                ALERT.entity,
                row.id,
                row.state,
                row.state,
                now,
                detail={"fault": d.fault, "was": d.refines, "diagnosis": d.evidence.get("diagnosis")},
                kind="alert.diagnosed",
            ),
        )
        a = conn.execute(select(Alert.__table__).where(Alert.id == row.id)).one()
        if a.asset_id is not None:
            content = work_order_content(conn, a)
            conn.execute(
                update(WorkOrder)
                .where(WorkOrder.alert_id == row.id, WorkOrder.state.in_(sorted(WORK_ORDER.open)))
                .values(
                    title=content.title,
                    description=content.description,
                    evidence=content.evidence,
                    checks=content.checks,
                    spare_parts=content.spare_parts,
                    updated_ns=now,
                )
                .execution_options(synchronize_session=False)
            )
        if PUBLISH in effects_for("anomaly_diagnosed", d.severity):
            queue_notice(conn, row.id, "diagnosed", now)

    def _raise(
        self,
        conn: Connection,
        p: ConditionParams,
        kind: str,
        severity: str,
        condition: str,
        evidence: dict[str, Any],
        ts: int,
        model: str,
        now: int,
    ) -> None:
        actions = effects_for(kind, severity)
        if OPEN_ALERT not in actions:
            return
        site = conn.execute(select(Asset.site, Asset.name).where(Asset.id == p.asset_id)).one()
        raised = raise_alert(
            conn,
            {
                "asset_id": p.asset_id,
                "site": site.site,
                "condition": condition[:64],
                "severity": severity,
                "evidence": evidence,
                "what_to_check": p.what_to_check,
                "rule_id": p.rule_id,
                "model": model,
                "recipients": recipients_for(conn, p.asset_id, 0),
            },
            ts,
            now,
            self.policy,
        )
        self._after_raise(conn, raised, kind, actions, severity, now)

    def _after_raise(
        self, conn: Connection, raised: Raised, kind: str, actions: list[str], severity: str, now: int
    ) -> None:
        if raised.outcome == "duplicate":
            return
        if raised.outcome == "occurred":
            if PUBLISH in effects_for("alert_occurred", severity):
                queue_notice(conn, raised.alert_id, "occurred", now)
            return
        if raised.outcome == "reopened":
            kind, actions = "alert_reopened", effects_for("alert_reopened", severity)
        if CREATE_WORK_ORDER in actions:
            self._alert_work_order(conn, raised.alert_id, now)
        self._after_open(conn, actions, raised.alert_id, kind, severity, now)
        if PUBLISH in actions:
            queue_notice(conn, raised.alert_id, raised.outcome, now)

    def cleared(
        self, conn: Connection, p: ConditionParams, d: FaultCleared | AnomalyCleared, now: int
    ) -> None:
        if MARK_CLEARED in effects_for(d.kind, d.severity):
            if isinstance(d, AnomalyCleared) and p.rule_id is not None:
                same: tuple[Any, ...] = (Alert.rule_id == p.rule_id,)
            else:
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
        asset_id = conn.scalar(
            select(Device.asset_id).where(Device.gateway == d.gateway, Device.device == d.device)
        )
        raised = raise_alert(
            conn,
            {
                "asset_id": None,
                "subject": subject,
                "site": d.site,
                "condition": condition,
                "severity": d.severity,
                "evidence": evidence,
                "what_to_check": d.message,
                "model": "edge-alarm",
                "recipients": recipients_for(conn, asset_id, 0),
            },
            d.ts,
            now,
            self.policy,
        )
        if raised.outcome == "reopened":
            raised = Raised(raised.alert_id, "opened")  # an alarm has no work order to bring back
        if raised.outcome == "opened":
            self._after_open(conn, actions, raised.alert_id, "alarm_raised", d.severity, now)
            if PUBLISH in actions:
                queue_notice(conn, raised.alert_id, "opened", now)
        elif raised.outcome == "occurred" and PUBLISH in effects_for("alert_occurred", d.severity):
            queue_notice(conn, raised.alert_id, "occurred", now)

    # -- stock signals (``_stock_truth``) ----------------------------------------------

    def stock_signal(self, conn: Connection, d: StockSignal, now: int) -> int | None:
        """Open (or, inactive, clear) the alert of ``d.subject`` and ``d.condition``; the id
        of an alert opened (or reopened), else None."""
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
        raised = raise_alert(
            conn,
            {
                "asset_id": None,
                "subject": d.subject,
                "site": d.site,
                "condition": d.condition[:64],
                "severity": d.severity,
                "evidence": evidence,
                "what_to_check": d.what_to_check,
                "model": "stock-truth",
                "recipients": [],
            },
            d.ts_ns or now,
            now,
            self.policy,
        )
        if raised.outcome not in ("opened", "reopened"):
            if raised.outcome == "occurred" and PUBLISH in effects_for("alert_occurred", d.severity):
                queue_notice(conn, raised.alert_id, "occurred", now)
            return None
        self._after_open(conn, actions, raised.alert_id, d.kind, d.severity, now)
        if PUBLISH in actions:
            queue_notice(conn, raised.alert_id, raised.outcome, now)
        return raised.alert_id

    # -- silence, escalation, auto-resolution --------------------------------------------

    def silent(self, conn: Connection, alert_id: int, severity: str, now: int) -> None:
        """The silence sweep opened ``alert_id``: the ``subject_silent`` effects."""
        actions = effects_for("subject_silent", severity)
        self._after_open(conn, actions, alert_id, "subject_silent", severity, now)
        if PUBLISH in actions:
            queue_notice(conn, alert_id, "opened", now)

    def auto_resolve(self, conn: Connection, now: int) -> list[int]:
        """Resolve the alerts cleared for the policy's ``auto_resolve_after_s``; their ids."""
        done = auto_resolve(conn, self.policy, now)
        for alert_id in done:
            severity = conn.scalar(select(Alert.severity).where(Alert.id == alert_id)) or "warning"
            if PUBLISH in effects_for("alert_auto_resolved", severity):
                queue_notice(conn, alert_id, "resolved", now)
        return done

    def escalate(self, conn: Connection, now: int) -> list[int]:
        """Escalate every ``open`` alert whose escalation time has come; their ids.

        Escalating raises the alert's severity one step (``RAISE_SEVERITY``; critical stays
        critical) and adds the next recipient of the asset's list (the second, the first
        time); the effects of ``alert_escalated`` follow at the new severity."""
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
            actions = effects_for("alert_escalated", _higher(a.severity))
            severity = _higher(a.severity) if RAISE_SEVERITY in actions else a.severity
            asset_id = a.asset_id
            if asset_id is None and str(a.subject).startswith("device:"):
                gw, _, dev = str(a.subject).split(":", 1)[1].partition("/")
                asset_id = conn.scalar(
                    select(Device.asset_id).where(Device.gateway == gw, Device.device == dev)
                )
            recipients = recipients_for(conn, asset_id, level) or list(a.recipients or [])
            conn.execute(
                update(Alert)
                .where(Alert.id == a.id)
                .values(
                    escalation_level=level,
                    escalate_at_ns=None,
                    updated_ns=now,
                    severity=severity,
                    recipients=recipients,
                )
                .execution_options(synchronize_session=False)
            )
            added = [r for r in recipients if r not in (a.recipients or [])]
            detail = {
                "escalation_level": level,
                "severity": severity,
                "was": a.severity,
                "recipients": recipients,
                "added": added,
                "unacknowledged_s": (now - a.opened_ns) / NS,
            }
            emit(
                conn,
                DomainEvent.move(
                    ALERT.entity, a.id, a.state, a.state, now, detail=detail, kind="alert.escalated"
                ),
            )
            if CREATE_WORK_ORDER in actions:
                self._escalation_work_order(conn, a, level, severity, now)
            if NOTIFY in actions:
                self._notify(conn, a.id, "alert_escalated", severity, now)
            if PUBLISH in actions:
                queue_notice(conn, a.id, "escalated", now)
            if DELIVER_WEBHOOK in actions:
                escalation_webhook(conn, a.id, detail, now)
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

    def _escalation_work_order(
        self, conn: Connection, a: Row[Any], level: int, severity: str, now: int
    ) -> None:
        if a.asset_id is None:  # a gateway's alert: no asset to work on
            return
        title = f"{a.condition} on {a.asset_id}: unacknowledged (escalation {level})"
        self._alert_work_order(conn, a.id, now, title=title[:200], severity=severity)

    def _alert_work_order(
        self,
        conn: Connection,
        alert_id: int,
        now: int,
        *,
        title: str | None = None,
        severity: str | None = None,
    ) -> None:
        """The alert's one open maintenance work order, with its evidence, checks and spare
        parts (``_work_order_evidence``); nothing when it has one open already (the partial
        unique index ``uq_work_orders_open_alert``)."""
        a = conn.execute(select(Alert.__table__).where(Alert.id == alert_id)).one()
        if a.asset_id is None:
            return
        content = work_order_content(conn, a)
        wo = conn.execute(
            conflict_insert(conn, WorkOrder)
            .values(
                alert_id=alert_id,
                asset_id=a.asset_id,
                site=a.site,
                kind="maintenance",
                title=(title or content.title)[:200],
                description=content.description,
                state=WORK_ORDER.initial,
                created_ns=now,
                updated_ns=now,
                note="",
                priority=SEVERITY_PRIORITY.get(severity or a.severity, "normal"),
                assignee=(a.recipients or [""])[0][:64],
                parts=[],
                labour=[],
                resolution_code="",
                root_cause="",
                notes=[],
                attachments=[],
                evidence=content.evidence,
                checks=content.checks,
                spare_parts=content.spare_parts,
            )
            .on_conflict_do_nothing()
            .returning(WorkOrder.__table__)
        ).one_or_none()
        if wo is None:
            return
        work_order_webhook(conn, wo, now)
        emit(
            conn,
            DomainEvent.move(
                WORK_ORDER.entity, wo.id, None, WORK_ORDER.initial, now, detail={"alert_id": alert_id}
            ),
        )

    # -- feedback from closed work orders ------------------------------------------------

    def work_order_closed(self, conn: Connection, wo: Any, actor: str, now: int) -> str | None:
        """What closing ``wo`` with its resolution code feeds back; the decision made."""
        kind = resolution_kind(wo.resolution_code or "")
        if kind is None or wo.alert_id is None:
            return None
        a = conn.execute(select(Alert.__table__).where(Alert.id == wo.alert_id)).one()
        actions = effects_for(kind, a.severity)
        if LOWER_CONFIDENCE in actions and a.rule_id is not None:
            row = conn.execute(
                update(ConditionRule)
                .where(ConditionRule.id == a.rule_id)
                .values(no_fault_found=ConditionRule.no_fault_found + 1)
                .returning(ConditionRule.no_fault_found, ConditionRule.engine)
                .execution_options(synchronize_session=False)
            ).one()
            emit(
                conn,
                DomainEvent.move(
                    "condition_rule",
                    a.rule_id,
                    None,
                    "active",
                    now,
                    actor,
                    {"no_fault_found": row.no_fault_found, "work_order": wo.id, "alert_id": a.id},
                    kind="condition_rule.confidence_lowered",
                ),
            )
        if STORE_LABEL in actions and a.asset_id is not None:
            evidence = a.evidence or {}
            label_id = conn.execute(
                conflict_insert(conn, FaultLabel)
                .values(
                    asset_id=a.asset_id,
                    site=a.site,
                    fault=a.condition,
                    resolution_code=wo.resolution_code,
                    root_cause=wo.root_cause or "",
                    alert_id=a.id,
                    work_order_id=wo.id,
                    model=a.model,
                    start_ns=evidence.get("first_over_ns"),
                    end_ns=evidence.get("confirmed_ns"),
                    evidence={
                        k: evidence[k]
                        for k in ("metric", "values", "scores", "diagnosis", "envelope", "trend", "max_value")
                        if k in evidence
                    },
                    created_ns=now,
                )
                .on_conflict_do_nothing()
                .returning(FaultLabel.id)
            ).scalar_one_or_none()
            if label_id is not None:
                emit(
                    conn,
                    DomainEvent(
                        "fault_label.created",
                        "fault_label",
                        str(label_id),
                        None,
                        "stored",
                        now,
                        actor,
                        {"fault": a.condition, "work_order": wo.id, "alert_id": a.id},
                    ),
                )
        return kind

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
