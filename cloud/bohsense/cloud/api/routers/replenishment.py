"""Replenishment proposals: list, read, change the quantity, and move them along their lifecycle.

``GET /replenishment``, ``GET /replenishment/{id}``, ``PATCH /replenishment/{id}`` (the
planner's quantity), ``POST /replenishment/{id}/approve`` (optionally with a quantity),
``/reject``, ``/ordered``, ``/received``, ``/cancel``; ``GET /replenishment/{id}/explanation``
(every number behind it, flags, approval, receipts, webhooks, history);
``POST /replenishment/{id}/receipts`` (goods received, once per receipt id);
``PUT /replenishment/plans`` (the planner's inputs of a stock location).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import ConfigDict, Field

from ...boh import PROPOSAL, PlanInput, ProposalRecord
from .._common import ActionBody, ApiModel, Id, Name, RequestModel, check_state, enum_field, state_filter
from .._deps import CoreDep
from .._export import CSV_RESPONSES, Period, PeriodFrom, PeriodTo, csv_response, every, in_lifetime
from .._identity import PrincipalDep
from .._paging import PageDep
from .._scoping import visible

router = APIRouter(prefix="/replenishment", tags=["replenishment"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such proposal"},
    409: {"description": "invalid transition (or the quantity can no longer change)"},
    422: {"description": "invalid body, e.g. a quantity that is not whole packs"},
}

#: at most this many units in one proposal (a typo guard, far above any shelf)
MAX_QUANTITY = 1_000_000


class Proposal(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    site: str
    sku: str
    location: str
    state: str = enum_field(PROPOSAL.states, "where the proposal is in its lifecycle")
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
    flags: list[dict[str, Any]] = Field(
        description="what looks abnormal against history, each with its reason"
    )
    approval: str = Field(description="auto (under the class's limits), human, or empty before approval")
    received_units: int = Field(description="units received so far (receipts)")
    revision: int = Field(description="0 when opened, +1 at each re-size by the stock rule")


class QuantityBody(ActionBody):
    quantity: int = Field(ge=1, le=MAX_QUANTITY, description="units, a whole number of packs")


class ApproveBody(ActionBody):
    quantity: int | None = Field(
        default=None, ge=1, le=MAX_QUANTITY, description="approve this many units instead (whole packs)"
    )


@router.get("", response_model=list[Proposal])
def list_proposals(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    state: Annotated[str | None, state_filter(PROPOSAL)] = None,
    site: Name | None = None,
    sku: Name | None = None,
) -> list[Proposal]:
    check_state(PROPOSAL, state)
    sites = principal.site_filter(site)
    found = page.rows(lambda n, o: core.list_proposals(state=state, sites=sites, sku=sku, limit=n, offset=o))
    return [Proposal.model_validate(p) for p in found]


@router.get("/export.csv", response_class=Response, responses=CSV_RESPONSES)
def export_proposals(
    core: CoreDep,
    principal: PrincipalDep,
    since: PeriodFrom = None,
    until: PeriodTo = None,
    site: Name | None = None,
    sku: Name | None = None,
    state: Annotated[str | None, state_filter(PROPOSAL)] = None,
) -> Response:
    """The replenishment proposals of a period as CSV, newest first: those created before
    ``to`` that were still open or changed at or after ``from``."""
    check_state(PROPOSAL, state)
    period = Period(since, until)
    sites = principal.site_filter(site)
    found = every(lambda n, o: core.list_proposals(state=state, sites=sites, sku=sku, limit=n, offset=o))
    rows = (
        Proposal.model_validate(p)
        for p in found
        if in_lifetime(period, PROPOSAL, p.created_ns, p.updated_ns, p.state)
    )
    return csv_response(Proposal, rows, "proposals.csv")


def _proposal(core: CoreDep, principal: PrincipalDep, proposal_id: int) -> ProposalRecord:
    """The proposal, 404 when it is of a store the caller does not see."""
    found = core.get_proposal(proposal_id)
    return visible(principal, found.site, PROPOSAL.entity, proposal_id, found)


@router.get("/{proposal_id}", response_model=Proposal, responses=ERRORS)
def get_proposal(core: CoreDep, principal: PrincipalDep, proposal_id: Id) -> Proposal:
    return Proposal.model_validate(_proposal(core, principal, proposal_id))


@router.patch("/{proposal_id}", response_model=Proposal, responses=ERRORS)
def set_quantity(core: CoreDep, principal: PrincipalDep, proposal_id: Id, body: QuantityBody) -> Proposal:
    """The planner's quantity, while the proposal is proposed or approved (audited)."""
    _proposal(core, principal, proposal_id)
    record = core.set_proposal_quantity(proposal_id, body.quantity, actor=principal.actor, note=body.note)
    return Proposal.model_validate(record)


def _move(
    core: CoreDep, principal: PrincipalDep, proposal_id: Id, to: str, body: ActionBody | None
) -> Proposal:
    body = body or ActionBody()
    _proposal(core, principal, proposal_id)
    return Proposal.model_validate(
        core.transition_proposal(proposal_id, to, actor=principal.actor, note=body.note)
    )


@router.post("/{proposal_id}/approve", response_model=Proposal, responses=ERRORS)
def approve(
    core: CoreDep, principal: PrincipalDep, proposal_id: Id, body: ApproveBody | None = None
) -> Proposal:
    body = body or ApproveBody()
    _proposal(core, principal, proposal_id)
    record = core.approve_proposal(proposal_id, actor=principal.actor, note=body.note, quantity=body.quantity)
    return Proposal.model_validate(record)


@router.post("/{proposal_id}/reject", response_model=Proposal, responses=ERRORS)
def reject(
    core: CoreDep, principal: PrincipalDep, proposal_id: Id, body: ActionBody | None = None
) -> Proposal:
    return _move(core, principal, proposal_id, "rejected", body)


@router.post("/{proposal_id}/ordered", response_model=Proposal, responses=ERRORS)
def ordered(
    core: CoreDep, principal: PrincipalDep, proposal_id: Id, body: ActionBody | None = None
) -> Proposal:
    return _move(core, principal, proposal_id, "ordered", body)


@router.post("/{proposal_id}/received", response_model=Proposal, responses=ERRORS)
def received(
    core: CoreDep, principal: PrincipalDep, proposal_id: Id, body: ActionBody | None = None
) -> Proposal:
    """The goods are in the store (on the shelf): the order is closed."""
    return _move(core, principal, proposal_id, "received", body)


@router.post("/{proposal_id}/cancel", response_model=Proposal, responses=ERRORS)
def cancel(
    core: CoreDep, principal: PrincipalDep, proposal_id: Id, body: ActionBody | None = None
) -> Proposal:
    """The order will not arrive: closed without goods; the next low stock proposes again."""
    return _move(core, principal, proposal_id, "cancelled", body)


class Explanation(ApiModel):
    proposal_id: int
    url: str
    site: str
    sku: str
    location: str
    state: str = enum_field(PROPOSAL.states, "where the proposal is in its lifecycle")
    quantity: int
    quantity_source: str
    priority: str
    approval: str
    flags: list[dict[str, Any]]
    received_units: int
    on_order_units: int
    revision: int
    explanation: dict[str, Any] = Field(
        description="source (forecast or catalog), sensed and book stock, on order, position, forecast over"
        " the lead time with its spread, service level, class, safety stock, reorder point, EOQ, order-up-to,"
        " pack and minimum-order rounding, shelf cap, quantity, and the sentence that ties them"
    )
    receipts: list[dict[str, Any]]
    webhooks: list[dict[str, Any]]
    history: list[dict[str, Any]]


@router.get("/{proposal_id}/explanation", response_model=Explanation, responses=ERRORS)
def explanation(core: CoreDep, principal: PrincipalDep, proposal_id: Id) -> Explanation:
    """Every number behind the proposal, its flags and approval, receipts, webhooks and audit trail."""
    _proposal(core, principal, proposal_id)
    return Explanation(**core.proposal_explanation(proposal_id))


class ReceiptBody(ActionBody):
    receipt_id: str = Field(
        min_length=1,
        max_length=128,
        description="the receipt's id: the same receipt sent again changes nothing",
    )
    quantity: int = Field(ge=0, le=MAX_QUANTITY, description="units received in this receipt")
    final: bool = Field(
        default=False, description="nothing more will come: close the proposal even when short"
    )


class Receipt(ApiModel):
    receipt_id: str
    quantity: int
    repeat: bool = Field(description="true when this receipt id was recorded before (nothing changed)")
    proposal: Proposal


@router.post("/{proposal_id}/receipts", response_model=Receipt, responses=ERRORS)
def receipt(core: CoreDep, principal: PrincipalDep, proposal_id: Id, body: ReceiptBody) -> Receipt:
    """Goods received against an ordered proposal: on order goes down, book stock up; the
    ordered quantity reached (or ``final``) closes it as received."""
    _proposal(core, principal, proposal_id)
    record, outcome = core.record_receipt(
        proposal_id, body.receipt_id, body.quantity, final=body.final, actor=principal.actor, note=body.note
    )
    return Receipt(
        receipt_id=outcome.receipt_id,
        quantity=outcome.quantity,
        repeat=outcome.repeat,
        proposal=Proposal.model_validate(record),
    )


class PlanBody(RequestModel):
    site: Name
    sku: Name
    location: Name
    abc: str = Field(pattern="^[ABC]$")
    xyz: str = Field(pattern="^[XYZ]$")
    service_level: float = Field(ge=0.5, lt=1.0)
    lead_time_days: int = Field(ge=0, le=365)
    daily_mean: float = Field(ge=0, le=1e9)
    lead_time_mean: float = Field(ge=0, le=1e9)
    lead_time_var: float = Field(ge=0, le=1e12)
    method: str = Field(min_length=1, max_length=32)
    as_of_ns: int = Field(ge=0, le=2**63 - 1, description="when the forecast was made, ns since the epoch")
    unit_cost: float | None = Field(default=None, ge=0, le=1e9)
    ordering_cost: float | None = Field(default=None, ge=0, le=1e9)
    holding_rate: float | None = Field(default=None, ge=0, le=100)
    min_order: int = Field(default=0, ge=0, le=MAX_QUANTITY)
    shelf_capacity: float | None = Field(default=None, ge=0, le=1e9)


@router.put("/plans", status_code=204, responses=ERRORS)
def put_plan(core: CoreDep, principal: PrincipalDep, body: PlanBody) -> None:
    """The planner's inputs of one stock location (of the caller's stores: another store
    is refused 403 ``out-of-scope``); its open, unapproved proposal is re-sized."""
    principal.require_site(body.site)
    core.put_plan(PlanInput(**body.model_dump()), actor=principal.actor)
