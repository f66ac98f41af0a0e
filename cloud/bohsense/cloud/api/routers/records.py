"""GET /audit, GET /quarantine, GET /summary."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from .._common import Limit, Offset
from .._deps import CoreDep, StatsDep

router = APIRouter(tags=["records"])

PREVIEW_BYTES = 256


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    entity: str
    entity_id: str
    from_state: str | None
    to_state: str
    actor: str
    at_ns: int
    detail: dict[str, Any]


class Quarantined(BaseModel):
    id: int
    topic: str
    gateway: str
    reason: str
    detail: str
    received_ns: int
    payload_size: int
    payload_b64: str
    payload_preview: str


@router.get("/audit", response_model=list[AuditEntry])
def audit(
    core: CoreDep,
    entity: str | None = None,
    entity_id: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AuditEntry]:
    found = core.audit(entity=entity, entity_id=entity_id, limit=limit, offset=offset)
    return [AuditEntry.model_validate(a) for a in found]


@router.get("/quarantine", response_model=list[Quarantined])
def quarantine(
    core: CoreDep,
    reason: str | None = None,
    gateway: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[Quarantined]:
    return [
        Quarantined(
            id=q.id,
            topic=q.topic,
            gateway=q.gateway,
            reason=q.reason,
            detail=q.detail,
            received_ns=q.received_ns,
            payload_size=len(q.payload),
            payload_b64=base64.b64encode(q.payload).decode("ascii"),
            payload_preview=q.payload[:PREVIEW_BYTES].decode("utf-8", errors="replace"),
        )
        for q in core.list_quarantine(reason=reason, gateway=gateway, limit=limit, offset=offset)
    ]


class Summary(BaseModel):
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
def summary(core: CoreDep, stats: StatsDep) -> Summary:
    return Summary(**core.summary(), ingest=dict(stats()) if stats is not None else {})
