"""Silence alerts: a gateway or a device that has not been heard from for its timeout.

One sweep (``sweep_silence``) reads when every gateway and mapped device was last heard
from, decides (``decide``, pure) and applies the decisions in one transaction:

- a gateway is silent when neither a status nor a reading of any of its devices is newer
  than the gateway timeout (and the cloud has been listening that long: a cloud that was
  down itself does not blame every gateway at start); it opens one ``gateway-silent`` alert;
- a mapped device (an asset's sensor or a lane) is silent when its newest reading lags
  the newest reading of any device of its gateway by more than the device timeout. Measured
  against its own gateway, not the cloud's clock, so a gateway draining its backlog after
  a WAN outage (every device's readings hours old, and catching up together) raises
  nothing; it opens one ``device-silent`` alert, unless its gateway is silent too (the
  gateway's alert says it already: few alerts, not a flood);
- when the subject is heard again, its open silence alert is resolved by the system, with
  the time it was heard in the audit entry; a person cannot resolve it before (refused,
  ``still-silent``: it would only open again), but may acknowledge it;
- only what the catalog watches is swept: a pending (unknown) or retired gateway, and
  its devices, are not; an open silence alert of a subject no longer watched (retired,
  unmapped) is resolved by the system ("no longer watched").

Alerts are keyed by ``subject`` (``gateway:<id>``, ``device:<gateway>/<device>``): the
partial unique index ``uq_alerts_open_subject_condition`` keeps one open per subject, so
two sweeps at once (two cloud workers) cannot open two. A gateway or device never heard
from is not swept (it has no "last heard"). A timeout of 0 turns that kind of alert off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from ._db import conflict_insert
from ._decisions import Executor
from ._domain_events import DomainEvent, emit
from ._lifecycle import ALERT
from ._models import Alert, Device, Gateway

__all__ = [
    "DEVICE_SILENT",
    "GATEWAY_SILENT",
    "GoneSilent",
    "Heard",
    "HeardAgain",
    "SilenceSweep",
    "Unwatched",
    "check_resolvable",
    "decide",
    "sweep_silence",
]

GATEWAY_SILENT = "gateway-silent"
DEVICE_SILENT = "device-silent"
NS = 1_000_000_000

_WHAT_TO_CHECK = {
    GATEWAY_SILENT: "the store gateway's power and WAN link, then its service (systemctl status bohsense-edge)",
    DEVICE_SILENT: "the device's power and cable, then the gateway's log for its driver",
}
_SEVERITY = {GATEWAY_SILENT: "major", DEVICE_SILENT: "warning"}


@dataclass(frozen=True, slots=True)
class Heard:
    """A gateway or device and when it was last heard from."""

    condition: str  # GATEWAY_SILENT or DEVICE_SILENT
    gateway: str
    device: str  # "" for a gateway
    site: str
    asset_id: str | None
    last_heard_ns: int
    timeout_ns: int  # 0: never silent
    #: a device's silence is measured against the newest reading of its gateway's devices
    reference_ns: int = 0
    #: a gateway's last reported state (online / offline / lost), for the evidence
    state: str = ""

    @property
    def subject(self) -> str:
        return f"gateway:{self.gateway}" if not self.device else f"device:{self.gateway}/{self.device}"


@dataclass(frozen=True, slots=True)
class GoneSilent:
    heard: Heard


@dataclass(frozen=True, slots=True)
class HeardAgain:
    alert_id: int
    heard: Heard


@dataclass(frozen=True, slots=True)
class Unwatched:
    """An open silence alert whose subject is no longer swept (retired, unmapped)."""

    alert_id: int


@dataclass(frozen=True, slots=True)
class SilenceSweep:
    """What one sweep did."""

    opened: int = 0
    resolved: int = 0


def decide(
    subjects: Sequence[Heard],
    open_alerts: Mapping[tuple[str, str], int],
    now: int,
    listening_since_ns: int = 0,
) -> list[GoneSilent | HeardAgain | Unwatched]:
    """``open_alerts``: (subject, condition) -> id of its open silence alert;
    ``listening_since_ns``: since when the cloud has been taking messages."""

    def silent(h: Heard) -> bool:
        if h.timeout_ns <= 0:
            return False
        if h.condition == GATEWAY_SILENT:
            return now - max(h.last_heard_ns, listening_since_ns) > h.timeout_ns
        return h.reference_ns - h.last_heard_ns > h.timeout_ns

    silent_gateways = {h.gateway for h in subjects if h.condition == GATEWAY_SILENT and silent(h)}
    out: list[GoneSilent | HeardAgain | Unwatched] = []
    watched = {(h.subject, h.condition) for h in subjects}
    out.extend(Unwatched(alert_id) for key, alert_id in sorted(open_alerts.items()) if key not in watched)
    for h in subjects:
        alert_id = open_alerts.get((h.subject, h.condition))
        if silent(h):
            covered = h.condition == DEVICE_SILENT and h.gateway in silent_gateways
            if alert_id is None and not covered:
                out.append(GoneSilent(h))
        elif alert_id is not None:
            out.append(HeardAgain(alert_id, h))
    return out


def _subjects(conn: Connection, gateway_timeout_ns: int, device_timeout_ns: int) -> list[Heard]:
    newest = dict(
        conn.execute(select(Device.gateway, func.max(Device.last_seen_ns)).group_by(Device.gateway)).all()
    )
    out: list[Heard] = []
    sites: dict[str, str] = {}
    gateways = conn.execute(
        select(Gateway.id, Gateway.site, Gateway.last_status_ns, Gateway.state).where(
            Gateway.retired_ns.is_(None), Gateway.registration != "pending"
        )
    )
    for gw, site, last_status, state in gateways:
        sites[gw] = site
        last = max(last_status or 0, newest.get(gw) or 0)
        if last:
            out.append(Heard(GATEWAY_SILENT, gw, "", site, None, last, gateway_timeout_ns, state=state))
    devices = conn.execute(
        select(Device.gateway, Device.device, Device.asset_id, Device.last_seen_ns).where(
            Device.kind != "unknown", Device.last_seen_ns.is_not(None)
        )
    )
    for gw, dev, asset_id, last_seen in devices:
        if gw not in sites:  # its gateway is not watched
            continue
        last = last_seen or 0
        reference = newest.get(gw) or last
        out.append(
            Heard(DEVICE_SILENT, gw, dev, sites.get(gw, ""), asset_id, last, device_timeout_ns, reference)
        )
    return out


def _open_alerts(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        select(Alert.subject, Alert.condition, Alert.id).where(
            Alert.condition.in_([GATEWAY_SILENT, DEVICE_SILENT]), Alert.state.in_(sorted(ALERT.open))
        )
    )
    return {(subject, condition): alert_id for subject, condition, alert_id in rows}


def _evidence(h: Heard, now: int) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "gateway": h.gateway,
        "last_heard_ns": h.last_heard_ns,
        "silent_s": round((now - h.last_heard_ns) / NS, 3),  # by the cloud's clock
        "timeout_s": h.timeout_ns / NS,
    }
    if h.device:
        evidence["device"] = h.device
    else:  # a clean goodbye (offline) or a last will (lost) tells the technician why
        evidence["gateway_state"] = h.state
    return evidence


def check_resolvable(alert: Alert) -> str | None:
    """Why a person may not resolve this silence alert now, or None (it is not one, or its
    subject was heard again: the sweep resolves it then)."""
    if alert.condition not in (GATEWAY_SILENT, DEVICE_SILENT) or alert.cleared_ns is not None:
        return None
    return f"{alert.subject} is still silent: the alert resolves itself when it is heard again"


def sweep_silence(
    conn: Connection,
    now: int,
    *,
    gateway_timeout_ns: int,
    device_timeout_ns: int,
    listening_since_ns: int = 0,
    executor: Executor | None = None,
) -> SilenceSweep:
    """One sweep in the caller's transaction, with its domain events; an alert opened runs
    the ``subject_silent`` effects of ``_decisions`` (its escalation) through ``executor``."""
    subjects = _subjects(conn, gateway_timeout_ns, device_timeout_ns)
    events = decide(subjects, _open_alerts(conn), now, listening_since_ns)
    opened = resolved = 0
    for ev in events:
        if isinstance(ev, GoneSilent):
            h = ev.heard
            evidence = _evidence(h, now)
            alert_id = conn.execute(
                conflict_insert(conn, Alert)
                .values(
                    asset_id=h.asset_id,
                    subject=h.subject,
                    site=h.site,
                    condition=h.condition,
                    severity=_SEVERITY[h.condition],
                    state=ALERT.initial,
                    opened_ns=now,
                    updated_ns=now,
                    cleared_ns=None,
                    evidence=evidence,
                    what_to_check=_WHAT_TO_CHECK[h.condition],
                )
                .on_conflict_do_nothing()  # another sweep opened it first
                .returning(Alert.id)
            ).scalar_one_or_none()
            if alert_id is not None:
                opened += 1
                emit(
                    conn,
                    DomainEvent.move(
                        ALERT.entity, alert_id, None, ALERT.initial, now, detail={"evidence": evidence}
                    ),
                )
                if executor is not None:
                    executor.silent(conn, alert_id, _SEVERITY[h.condition], now)
        else:
            before = conn.scalar(
                select(Alert.state)
                .where(Alert.id == ev.alert_id, Alert.state.in_(sorted(ALERT.open)))
                .with_for_update()
            )
            if before is not None:
                conn.execute(
                    update(Alert)
                    .where(Alert.id == ev.alert_id)
                    .values(state="resolved", cleared_ns=now, updated_ns=now)
                    .execution_options(synchronize_session=False)
                )
                resolved += 1
                detail: dict[str, Any] = (
                    {"condition": "cleared", "heard_ns": ev.heard.last_heard_ns}
                    if isinstance(ev, HeardAgain)
                    else {"condition": "no longer watched"}
                )
                emit(
                    conn, DomainEvent.move(ALERT.entity, ev.alert_id, before, "resolved", now, detail=detail)
                )
    return SilenceSweep(opened, resolved)
