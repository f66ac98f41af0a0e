"""GET /gateways, /gateways/{id}, /devices."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field

from .._common import ApiModel, Name, enum_field
from .._deps import CoreDep
from .._identity import PrincipalDep
from .._paging import PageDep
from .._scoping import visible

router = APIRouter(tags=["fleet"])


class Gateway(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    site: str
    state: str = enum_field(
        ("online", "offline", "lost", "unknown"), "from the gateway's newest status; unknown before any"
    )
    last_status_ns: int | None
    version: str
    dropped: int
    next_seq: int
    outbox_depth: int
    watermark: int
    registration: str = enum_field(
        ("catalog", "auto", "pending"), "catalog, auto (auto-register mode) or pending (data held)"
    )
    claimed_site: str = Field(description="the site the gateway's own messages name")
    dropped_in_doubt: int


class Device(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    gateway: str
    device: str
    kind: str
    asset_id: str | None
    lane_id: int | None
    first_seen_ns: int | None
    last_seen_ns: int | None


@router.get("/gateways", response_model=list[Gateway])
def list_gateways(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    site: Name | None = None,
    registration: Annotated[Literal["catalog", "auto", "pending"] | None, Query()] = None,
) -> list[Gateway]:
    """``registration=pending``: gateways that reported but are not in the catalog (their
    batches are held in quarantine as ``unknown-gateway`` until the catalog registers them)."""
    return [
        Gateway.model_validate(g)
        for g in page.slice(core.list_gateways(sites=principal.site_filter(site), registration=registration))
    ]


@router.get("/gateways/{gateway_id}", response_model=Gateway)
def get_gateway(core: CoreDep, principal: PrincipalDep, gateway_id: Name) -> Gateway:
    found = core.get_gateway(gateway_id)
    return Gateway.model_validate(visible(principal, found.site, "gateway", gateway_id, found))


@router.get("/devices", response_model=list[Device])
def list_devices(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    gateway: Name | None = None,
    kind: Name | None = None,
) -> list[Device]:
    return [
        Device.model_validate(d)
        for d in page.cut(core.list_devices(gateway=gateway, kind=kind, sites=principal.sites, **page.seek))
    ]
