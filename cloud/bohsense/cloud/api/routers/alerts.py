"""GET /alerts, GET /alerts/{id}, POST /alerts/{id}/acknowledge and /resolve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ...boh import ALERT
from .._common import ActionBody, Id, Limit, Name, Offset, check_state, state_filter
from .._deps import CoreDep

router = APIRouter(prefix="/alerts", tags=["alerts"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such alert"},
    409: {"description": "invalid transition, or its condition is still active (reason condition-active)"},
}


class Alert(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    asset_id: str | None = Field(description="the asset of a condition alert; null for a silent gateway")
    subject: str = Field(
        description="what a silence alert is about: gateway:<id> or device:<gateway>/<device>"
    )
    site: str
    condition: str
    severity: str
    state: str
    opened_ns: int
    updated_ns: int
    cleared_ns: int | None
    evidence: dict[str, Any]
    what_to_check: str
    escalation_level: int = Field(
        description="raised each time the alert escalates (left unacknowledged past its severity's delay)"
    )


@router.get("", response_model=list[Alert])
def list_alerts(
    core: CoreDep,
    state: Annotated[str | None, state_filter(ALERT)] = None,
    asset: Name | None = None,
    site: Name | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[Alert]:
    check_state(ALERT, state)
    found = core.list_alerts(state=state, asset_id=asset, site=site, limit=limit, offset=offset)
    return [Alert.model_validate(a) for a in found]


@router.get("/{alert_id}", response_model=Alert, responses=ERRORS)
def get_alert(core: CoreDep, alert_id: Id) -> Alert:
    return Alert.model_validate(core.get_alert(alert_id))


@router.post("/{alert_id}/acknowledge", response_model=Alert, responses=ERRORS)
def acknowledge(core: CoreDep, alert_id: Id, body: ActionBody | None = None) -> Alert:
    body = body or ActionBody()
    return Alert.model_validate(core.acknowledge_alert(alert_id, actor=body.actor, note=body.note))


@router.post("/{alert_id}/resolve", response_model=Alert, responses=ERRORS)
def resolve(core: CoreDep, alert_id: Id, body: ActionBody | None = None) -> Alert:
    """Resolve once the condition has cleared (the rule's hysteresis and minimum duration);
    409 ``condition-active`` before. Closing the alert's work order resolves it too."""
    body = body or ActionBody()
    return Alert.model_validate(core.resolve_alert(alert_id, actor=body.actor, note=body.note))
