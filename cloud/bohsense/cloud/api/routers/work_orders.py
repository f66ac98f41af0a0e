"""GET /work-orders, GET /work-orders/{id}, POST /work-orders/{id}/transition."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...boh import WORK_ORDER
from .._common import ActionBody, Id, IdFilter, Limit, Name, Offset, check_state, state_filter
from .._deps import CoreDep

router = APIRouter(prefix="/work-orders", tags=["work orders"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such work order"},
    409: {"description": "invalid transition"},
}


class WorkOrder(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    alert_id: int | None
    asset_id: str
    site: str
    kind: str
    title: str
    description: str
    state: str
    created_ns: int
    updated_ns: int
    note: str


class Transition(ActionBody):
    to: str = Field(
        description=f"one of {sorted(WORK_ORDER.states)}",
        json_schema_extra={"enum": list(sorted(WORK_ORDER.states))},
    )

    @field_validator("to")
    @classmethod
    def _known_state(cls, value: str) -> str:
        if value not in WORK_ORDER.states:
            raise ValueError(f"unknown work order state {value!r}; one of {sorted(WORK_ORDER.states)}")
        return value


@router.get("", response_model=list[WorkOrder])
def list_work_orders(
    core: CoreDep,
    state: Annotated[str | None, state_filter(WORK_ORDER)] = None,
    asset: Name | None = None,
    alert_id: IdFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[WorkOrder]:
    check_state(WORK_ORDER, state)
    found = core.list_work_orders(state=state, asset_id=asset, alert_id=alert_id, limit=limit, offset=offset)
    return [WorkOrder.model_validate(w) for w in found]


@router.get("/{work_order_id}", response_model=WorkOrder, responses=ERRORS)
def get_work_order(core: CoreDep, work_order_id: Id) -> WorkOrder:
    return WorkOrder.model_validate(core.get_work_order(work_order_id))


@router.post("/{work_order_id}/transition", response_model=WorkOrder, responses=ERRORS)
def transition(core: CoreDep, work_order_id: Id, body: Transition) -> WorkOrder:
    record = core.transition_work_order(work_order_id, body.to, actor=body.actor, note=body.note)
    return WorkOrder.model_validate(record)
