"""Replenishment proposals: list, read, change the quantity, and move them along their lifecycle.

``GET /replenishment``, ``GET /replenishment/{id}``, ``PATCH /replenishment/{id}`` (the
planner's quantity), ``POST /replenishment/{id}/approve`` (optionally with a quantity),
``/reject``, ``/ordered``, ``/received``, ``/cancel``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ...boh import PROPOSAL
from .._common import ActionBody, Id, Limit, Name, Offset, check_state, state_filter
from .._deps import CoreDep

router = APIRouter(prefix="/replenishment", tags=["replenishment"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such proposal"},
    409: {"description": "invalid transition (or the quantity can no longer change)"},
    422: {"description": "invalid body, e.g. a quantity that is not whole packs"},
}

#: at most this many units in one proposal (a typo guard, far above any shelf)
MAX_QUANTITY = 1_000_000


class Proposal(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    site: str
    sku: str
    location: str
    state: str
    sensed_units: float
    reorder_point: float
    target: float
    safety_stock: float
    pack_size: int
    quantity: int
    quantity_source: str = Field(description="rule (follows falling stock until approved) or planner")
    priority: str = Field(description="normal, or urgent below the safety stock")
    explanation: dict[str, Any]
    created_ns: int
    updated_ns: int


class QuantityBody(ActionBody):
    quantity: int = Field(ge=1, le=MAX_QUANTITY, description="units, a whole number of packs")


class ApproveBody(ActionBody):
    quantity: int | None = Field(
        default=None, ge=1, le=MAX_QUANTITY, description="approve this many units instead (whole packs)"
    )


@router.get("", response_model=list[Proposal])
def list_proposals(
    core: CoreDep,
    state: Annotated[str | None, state_filter(PROPOSAL)] = None,
    site: Name | None = None,
    sku: Name | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[Proposal]:
    check_state(PROPOSAL, state)
    found = core.list_proposals(state=state, site=site, sku=sku, limit=limit, offset=offset)
    return [Proposal.model_validate(p) for p in found]


@router.get("/{proposal_id}", response_model=Proposal, responses=ERRORS)
def get_proposal(core: CoreDep, proposal_id: Id) -> Proposal:
    return Proposal.model_validate(core.get_proposal(proposal_id))


@router.patch("/{proposal_id}", response_model=Proposal, responses=ERRORS)
def set_quantity(core: CoreDep, proposal_id: Id, body: QuantityBody) -> Proposal:
    """The planner's quantity, while the proposal is proposed or approved (audited)."""
    record = core.set_proposal_quantity(proposal_id, body.quantity, actor=body.actor, note=body.note)
    return Proposal.model_validate(record)


def _move(core: CoreDep, proposal_id: Id, to: str, body: ActionBody | None) -> Proposal:
    body = body or ActionBody()
    return Proposal.model_validate(
        core.transition_proposal(proposal_id, to, actor=body.actor, note=body.note)
    )


@router.post("/{proposal_id}/approve", response_model=Proposal, responses=ERRORS)
def approve(core: CoreDep, proposal_id: Id, body: ApproveBody | None = None) -> Proposal:
    body = body or ApproveBody()
    record = core.approve_proposal(proposal_id, actor=body.actor, note=body.note, quantity=body.quantity)
    return Proposal.model_validate(record)


@router.post("/{proposal_id}/reject", response_model=Proposal, responses=ERRORS)
def reject(core: CoreDep, proposal_id: Id, body: ActionBody | None = None) -> Proposal:
    return _move(core, proposal_id, "rejected", body)


@router.post("/{proposal_id}/ordered", response_model=Proposal, responses=ERRORS)
def ordered(core: CoreDep, proposal_id: Id, body: ActionBody | None = None) -> Proposal:
    return _move(core, proposal_id, "ordered", body)


@router.post("/{proposal_id}/received", response_model=Proposal, responses=ERRORS)
def received(core: CoreDep, proposal_id: Id, body: ActionBody | None = None) -> Proposal:
    """The goods are in the store (on the shelf): the order is closed."""
    return _move(core, proposal_id, "received", body)


@router.post("/{proposal_id}/cancel", response_model=Proposal, responses=ERRORS)
def cancel(core: CoreDep, proposal_id: Id, body: ActionBody | None = None) -> Proposal:
    """The order will not arrive: closed without goods; the next low stock proposes again."""
    return _move(core, proposal_id, "cancelled", body)
