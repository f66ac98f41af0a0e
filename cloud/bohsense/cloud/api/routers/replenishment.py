"""GET /replenishment, GET /replenishment/{id}, POST /replenishment/{id}/approve, /reject, /ordered."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from ...boh import PROPOSAL
from .._common import ActionBody, Id, Limit, Name, Offset, check_state, state_filter
from .._deps import CoreDep

router = APIRouter(prefix="/replenishment", tags=["replenishment"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such proposal"},
    409: {"description": "invalid transition"},
}


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
    explanation: dict[str, Any]
    created_ns: int
    updated_ns: int


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


def _move(core: CoreDep, proposal_id: Id, to: str, body: ActionBody | None) -> Proposal:
    body = body or ActionBody()
    return Proposal.model_validate(
        core.transition_proposal(proposal_id, to, actor=body.actor, note=body.note)
    )


@router.post("/{proposal_id}/approve", response_model=Proposal, responses=ERRORS)
def approve(core: CoreDep, proposal_id: Id, body: ActionBody | None = None) -> Proposal:
    return _move(core, proposal_id, "approved", body)


@router.post("/{proposal_id}/reject", response_model=Proposal, responses=ERRORS)
def reject(core: CoreDep, proposal_id: Id, body: ActionBody | None = None) -> Proposal:
    return _move(core, proposal_id, "rejected", body)


@router.post("/{proposal_id}/ordered", response_model=Proposal, responses=ERRORS)
def ordered(core: CoreDep, proposal_id: Id, body: ActionBody | None = None) -> Proposal:
    return _move(core, proposal_id, "ordered", body)
