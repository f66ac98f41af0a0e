"""GET /alerts (the technicians' feed, with filters), GET /alerts/{id},
POST /alerts/{id}/acknowledge and /resolve. The same alerts are published on MQTT
(``bohsense/v1/gw/{gateway}/alert``, ``AlertNotice``); see docs/alerts.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Query, Response
from pydantic import ConfigDict, Field

from ...boh import ALERT, AlertFilter, AlertRecord
from .._common import ActionBody, ApiModel, Id, Name, check_state, enum_field, state_filter
from .._deps import CoreDep
from .._export import CSV_RESPONSES, Period, PeriodFrom, PeriodTo, csv_response, every, in_lifetime
from .._identity import PrincipalDep
from .._paging import PageDep
from .._scoping import visible

Severity = Literal["info", "warning", "major", "critical"]
SEVERITIES = get_args(Severity)

router = APIRouter(prefix="/alerts", tags=["alerts"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such alert"},
    409: {"description": "invalid transition, or its condition is still active (reason condition-active)"},
}


class Alert(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    asset_id: str | None = Field(description="the asset of a condition alert; null for a silent gateway")
    subject: str = Field(
        description="what a silence alert is about: gateway:<id> or device:<gateway>/<device>"
    )
    site: str
    condition: str
    severity: str = enum_field(SEVERITIES, "how bad: info < warning < major < critical")
    state: str = enum_field(ALERT.states, "where the alert is in its lifecycle")
    opened_ns: int
    updated_ns: int
    cleared_ns: int | None
    evidence: dict[str, Any]
    what_to_check: str
    escalation_level: int = Field(
        description="raised each time the alert escalates (left unacknowledged past its severity's delay)"
    )
    occurrences: int = Field(description="times the fault was confirmed (recurrences count here)")
    last_occurrence_ns: int | None = Field(description="event time of the newest occurrence counted")
    reopened: int = Field(description="times a recurrence within the reopen window reopened it")
    resolved_ns: int | None
    rule_id: int | None = Field(description="the condition rule that raised it (null: an alarm or silence)")
    model: str = Field(description="<model>@<version> of the detector, or the rule engine, that decided")
    recipients: list[str] = Field(description="who is told, in escalation order")


@router.get("", response_model=list[Alert])
def list_alerts(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    state: Annotated[str | None, state_filter(ALERT)] = None,
    asset: Name | None = None,
    site: Name | None = None,
    severity: Annotated[Severity | None, Query(description="this severity and more severe")] = None,
    condition: Name | None = None,
    subject: Name | None = None,
    recipient: Name | None = None,
    open: Annotated[bool, Query(description="only open or acknowledged alerts")] = False,
    since_ns: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="changed at or after (ns)")] = None,
) -> list[Alert]:
    """Newest first. Filters combine; an unknown query parameter is refused (422)."""
    check_state(ALERT, state)
    where = AlertFilter(
        min_severity=severity,
        condition=condition,
        recipient=recipient,
        open_only=open,
        since_ns=since_ns,
        subject=subject,
    )
    sites = principal.site_filter(site)
    found = page.rows(
        lambda n, o: core.list_alerts(
            state=state, asset_id=asset, sites=sites, where=where, limit=n, offset=o
        )
    )
    return [Alert.model_validate(a) for a in found]


@router.get("/export.csv", response_class=Response, responses=CSV_RESPONSES)
def export_alerts(
    core: CoreDep,
    principal: PrincipalDep,
    since: PeriodFrom = None,
    until: PeriodTo = None,
    site: Name | None = None,
    state: Annotated[str | None, state_filter(ALERT)] = None,
) -> Response:
    """The alerts of a period as CSV, newest first: those opened before ``to`` that were
    still open or changed at or after ``from``."""
    check_state(ALERT, state)
    period = Period(since, until)
    sites = principal.site_filter(site)
    found = every(lambda n, o: core.list_alerts(state=state, sites=sites, limit=n, offset=o))
    rows = (
        Alert.model_validate(a)
        for a in found
        if in_lifetime(period, ALERT, a.opened_ns, a.updated_ns, a.state)
    )
    return csv_response(Alert, rows, "alerts.csv")


def _alert(core: CoreDep, principal: PrincipalDep, alert_id: int) -> AlertRecord:
    """The alert, 404 when it is of a store the caller does not see."""
    found = core.get_alert(alert_id)
    return visible(principal, found.site, ALERT.entity, alert_id, found)


@router.get("/{alert_id}", response_model=Alert, responses=ERRORS)
def get_alert(core: CoreDep, principal: PrincipalDep, alert_id: Id) -> Alert:
    return Alert.model_validate(_alert(core, principal, alert_id))


@router.post("/{alert_id}/acknowledge", response_model=Alert, responses=ERRORS)
def acknowledge(
    core: CoreDep, principal: PrincipalDep, alert_id: Id, body: ActionBody | None = None
) -> Alert:
    body = body or ActionBody()
    _alert(core, principal, alert_id)
    return Alert.model_validate(core.acknowledge_alert(alert_id, actor=principal.actor, note=body.note))


@router.post("/{alert_id}/resolve", response_model=Alert, responses=ERRORS)
def resolve(core: CoreDep, principal: PrincipalDep, alert_id: Id, body: ActionBody | None = None) -> Alert:
    """Resolve once the condition has cleared (the rule's hysteresis and minimum duration);
    409 ``condition-active`` before. Closing the alert's work order resolves it too."""
    body = body or ActionBody()
    _alert(core, principal, alert_id)
    return Alert.model_validate(core.resolve_alert(alert_id, actor=principal.actor, note=body.note))
