"""The webhook outbox: deliveries with their attempts, the dead-letter list, re-drive.

``GET /webhooks`` (filter by ``state``: pending, delivered, dead; ``topic``; ``group``),
``GET /webhooks/dead-letter`` (the dead ones), ``GET /webhooks/{id}``,
``POST /webhooks/{id}/redrive`` (a dead delivery back into the outbox).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field

from .._common import ActionBody, ApiModel, Id, Name, enum_field
from .._deps import CoreDep
from .._identity import PrincipalDep
from .._paging import PageDep

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such delivery"},
    409: {"description": "the delivery is not dead-lettered"},
}


class Attempt(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    attempt: int
    at_ns: int
    duration_ms: float
    status: int | None = Field(description="the receiver's HTTP status; null: no answer (timeout, refused)")
    error: str
    outcome: str = Field(description="delivered, retry or dead")


class Delivery(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    topic: str
    idempotency_key: str
    group_key: str = Field(description="deliveries of one group go out one at a time, in order")
    state: str = enum_field(("pending", "delivered", "dead"), "pending, delivered or dead")
    attempts: int
    next_attempt_ns: int
    created_ns: int
    delivered_ns: int | None
    last_status: int | None
    last_error: str
    payload: dict[str, Any] = Field(description="the body sent, parsed")
    attempt_log: list[Attempt]


State = Annotated[str | None, Query(json_schema_extra={"enum": ["pending", "delivered", "dead"]})]


@router.get("", response_model=list[Delivery])
def list_deliveries(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    state: State = None,
    topic: Name | None = None,
    group: Name | None = None,
) -> list[Delivery]:
    found = page.rows(
        lambda limit, offset: core.list_webhooks(
            state=state, topic=topic, group=group, limit=limit, offset=offset, sites=principal.sites
        )
    )
    return [Delivery.model_validate(d) for d in found]


@router.get("/dead-letter", response_model=list[Delivery])
def dead_letter(core: CoreDep, principal: PrincipalDep, page: PageDep) -> list[Delivery]:
    """Deliveries that gave up (every attempt failed, or the receiver refused them); each
    holds later deliveries of its group until re-driven."""
    found = page.rows(
        lambda limit, offset: core.list_webhooks(
            state="dead", limit=limit, offset=offset, sites=principal.sites
        )
    )
    return [Delivery.model_validate(d) for d in found]


@router.get("/{delivery_id}", response_model=Delivery, responses=ERRORS)
def get_delivery(core: CoreDep, principal: PrincipalDep, delivery_id: Id) -> Delivery:
    return Delivery.model_validate(core.get_webhook(delivery_id, sites=principal.sites))


@router.post("/{delivery_id}/redrive", response_model=Delivery, responses=ERRORS)
def redrive(
    core: CoreDep, principal: PrincipalDep, delivery_id: Id, body: ActionBody | None = None
) -> Delivery:
    """Back into the outbox at once, with a fresh retry budget (audited)."""
    core.get_webhook(delivery_id, sites=principal.sites)  # another store's: not found
    return Delivery.model_validate(core.redrive_webhook(delivery_id, actor=principal.actor))
