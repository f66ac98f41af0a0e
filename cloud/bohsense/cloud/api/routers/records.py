"""GET /audit, GET /quarantine (items without payloads), GET /quarantine/{id}/payload,
POST /quarantine/{id}/reapply, GET /summary."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict

from ...boh import NotFound
from .._common import ApiModel, Id, Name, RequestModel
from .._deps import CoreDep, StatsDep
from .._identity import Principal, PrincipalDep
from .._paging import PageDep
from .._scoping import visible

router = APIRouter(tags=["records"])


class AuditEntry(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    entity: str
    entity_id: str
    from_state: str | None
    to_state: str
    actor: str
    at_ns: int
    detail: dict[str, Any]


class Quarantined(ApiModel):
    id: int
    topic: str
    gateway: str
    reason: str
    detail: str
    received_ns: int
    payload_size: int
    payload_stored: int
    payload_sha256: str
    payload_preview: str


@router.get("/audit", response_model=list[AuditEntry])
def audit(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    entity: Name | None = None,
    entity_id: Name | None = None,
) -> list[AuditEntry]:
    found = page.cut(core.audit(entity=entity, entity_id=entity_id, sites=principal.sites, **page.seek))
    return [AuditEntry.model_validate(a) for a in found]


@router.get("/quarantine", response_model=list[Quarantined])
def quarantine(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    reason: Name | None = None,
    gateway: Name | None = None,
) -> list[Quarantined]:
    return [
        Quarantined(
            id=q.id,
            topic=q.topic,
            gateway=q.gateway,
            reason=q.reason,
            detail=q.detail,
            received_ns=q.received_ns,
            payload_size=q.payload_size,
            payload_stored=q.payload_stored,
            payload_sha256=q.payload_sha256,
            payload_preview=q.payload_preview.decode("utf-8", errors="replace"),
        )
        for q in page.cut(
            core.list_quarantine(reason=reason, gateway=gateway, sites=principal.sites, **page.seek)
        )
    ]


@router.get(
    "/quarantine/{quarantine_id}/payload",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "the stored payload bytes"},
        404: {"description": "no quarantine item with that id"},
    },
)
async def quarantine_payload(core: CoreDep, principal: PrincipalDep, quarantine_id: Id) -> Response:
    """The stored bytes of one item: the whole payload, or its first bytes when it was large
    (``X-Payload-Size`` and ``X-Payload-Sha256`` describe the payload as it came)."""
    try:
        item = await run_in_threadpool(_quarantined, core, principal, quarantine_id)
        data = await run_in_threadpool(core.quarantine_payload, quarantine_id)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no quarantine item with id {quarantine_id}") from exc
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"X-Payload-Size": str(item.payload_size), "X-Payload-Sha256": item.payload_sha256},
    )


class ReapplyBody(RequestModel):
    """Empty: who re-applies is the caller (recorded in the audit log)."""


class Reapplied(ApiModel):
    id: int
    ok: bool
    what: str


@router.post(
    "/quarantine/{quarantine_id}/reapply",
    response_model=Reapplied,
    responses={
        404: {"description": "no quarantine item with that id"},
        409: {"description": "the item cannot be re-applied (not apply-failed, or it failed again)"},
    },
)
async def reapply_quarantined(
    core: CoreDep, principal: PrincipalDep, quarantine_id: Id, body: ReapplyBody | None = None
) -> Reapplied:
    """Apply an ``apply-failed`` item again (once its cause is fixed); it leaves the quarantine."""
    try:
        await run_in_threadpool(_quarantined, core, principal, quarantine_id)
        (result,) = await run_in_threadpool(core.reapply_quarantined, [quarantine_id], actor=principal.actor)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no quarantine item with id {quarantine_id}") from exc
    if not result.ok:
        raise HTTPException(status.HTTP_409_CONFLICT, result.what)
    return Reapplied(id=result.id, ok=result.ok, what=result.what)


def _quarantined(core: CoreDep, principal: Principal, quarantine_id: int) -> Any:
    """The quarantined item, ``NotFound`` when its gateway is of a store the caller does not
    see (a gateway no store has: seen by unscoped callers only)."""
    item = core.get_quarantine(quarantine_id)
    if principal.scoped:
        sites = {g.id: g.site for g in core.list_gateways(sites=principal.sites)}
        visible(principal, sites.get(item.gateway), "quarantine item", quarantine_id, item)
    return item


class Summary(ApiModel):
    gateways: dict[str, int]
    gateways_pending: int  # reporting, not in the catalog: their data is held
    devices: int
    devices_unmatched: int  # named by the catalog, never reported (GET /catalog/mapping)
    devices_unmapped: int  # reporting, not named by the catalog
    stock_locations: int
    stock_locations_below_reorder_point: int
    alerts: int
    alerts_by_state: dict[str, int]
    work_orders: int
    work_orders_by_state: dict[str, int]
    replenishment_proposals: int
    replenishment_proposals_by_state: dict[str, int]
    quarantined: int
    audit_entries: int
    ingest: dict[str, Any]


@router.get("/summary", response_model=Summary)
def summary(core: CoreDep, principal: PrincipalDep, stats: StatsDep) -> Summary:
    """Counts of the caller's stores (the ingest figures are the service's own)."""
    return Summary(**core.summary(sites=principal.sites), ingest=dict(stats()) if stats is not None else {})
