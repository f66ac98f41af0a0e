"""The catalog through the API: sites, gateways, SKUs, assets with rules and sensors, stock
locations with lanes, and device mappings. ``PUT`` creates or updates (a retired entry is
restored), ``POST …/retire`` retires; every change is audited (``GET /audit?entity=catalog.site``)
and in effect at once, in other workers within their cache TTL. The catalog file loaded at
start goes through the same operations: a kind the file lists is the complete list of that
kind, so keep each kind in one place (the file or the API). ``GET /catalog/mapping`` shows
catalog devices never reported and reporting devices the catalog does not map.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import ConfigDict, Field

from ...boh import (
    AssetSpec,
    GatewaySpec,
    LaneSpec,
    LocationSpec,
    NotFound,
    RuleSpec,
    SiteSpec,
    SkuSpec,
    ZoneSpec,
)
from .._common import ApiModel, RequestModel
from .._common import Id as RowId
from .._common import Name as PathName
from .._deps import CoreDep
from .._identity import Principal, PrincipalDep
from .._paging import PageDep
from .fleet import Device

router = APIRouter(prefix="/catalog", tags=["catalog"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such catalog entry"},
    422: {"description": "invalid entry, or one the rest of the catalog refuses (the reason names it)"},
}

Id = Annotated[str, Field(min_length=1, max_length=64)]
Name = Annotated[str, Field(max_length=200)]
Units = Annotated[float, Field(ge=0, le=1e9)]


# -- bodies --------------------------------------------------------------------------------


class Actor(RequestModel):
    """The body of a change (empty here): who changes the catalog is the caller, recorded in
    the audit log; ``actor`` is refused as an unknown field."""


ZoneName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]*$")]
#: a GTIN-14 (its check digit is checked too: a wrong one is refused with the reason), or ""
Gtin = Annotated[str, Field(pattern=r"^(?:[0-9]{14})?$", description="GTIN-14 with check digit, or empty")]


class ZoneIn(RequestModel):
    zone: ZoneName
    kind: Literal["floor", "backroom", "door"] = "floor"


class SiteIn(Actor):
    name: Name = ""
    zones: list[ZoneIn] = Field(
        default_factory=list, max_length=200, description="the complete set of the site's RFID zones"
    )


class GatewayIn(Actor):
    site: Id


class SkuIn(Actor):
    name: Name = ""
    unit: Annotated[str, Field(min_length=1, max_length=32)] = "unit"
    pack_size: Annotated[int, Field(ge=1, le=100_000)] = 1
    gtin: Gtin = ""


class RuleIn(RequestModel):
    condition: Id
    metric: Annotated[str, Field(min_length=1, max_length=128)]
    limit: float
    clear_below: float | None = None
    min_duration_s: Annotated[float, Field(ge=0, le=86_400 * 30)] = 0.0
    severity: Annotated[str, Field(min_length=1, max_length=16)] = "warning"
    what_to_check: Annotated[str, Field(max_length=2000)] = ""
    engine: Literal["threshold", "detector"] = "threshold"
    metrics: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default_factory=list, max_length=64, description="a detector rule's feature metrics"
    )
    model: Annotated[str, Field(max_length=64, description="a detector rule's model file")] = ""


class AssetIn(Actor):
    site: Id
    name: Name = ""
    kind: Annotated[str, Field(max_length=64)] = ""
    gateway: Id | None = None
    device: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    rules: list[RuleIn] = Field(default_factory=list, max_length=100, description="the complete set")
    recipients: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None,
        max_length=32,
        description="who is told of its alerts, in escalation order (null: unchanged)",
    )


class LaneIn(RequestModel):
    gateway: Id
    device: Annotated[str, Field(min_length=1, max_length=128, description="<device id>.lane-<n>")]


class LocationIn(Actor):
    site: Id
    sku: Id
    location: Annotated[str, Field(min_length=1, max_length=128)]
    min: Units
    target: Units
    safety_stock: Units = 0.0
    lanes: list[LaneIn] = Field(default_factory=list, max_length=100, description="the complete set")
    aisle: Annotated[str, Field(max_length=64, description="the aisle it is in (heat map rows)")] = ""
    shelf: Annotated[str, Field(max_length=64, description="the shelf it is on (heat map rows)")] = ""
    zone: Annotated[
        str, Field(max_length=128, description="the site's RFID zone that covers it (its RFID count)")
    ] = ""


class DeviceRef(Actor):
    gateway: Id
    device: Annotated[str, Field(min_length=1, max_length=128)]


# -- answers -------------------------------------------------------------------------------


class ChangeOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    kind: str
    key: str
    action: str = Field(description="created, updated, restored, retired or unchanged")


class ZoneOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    zone: str
    kind: str
    retired_ns: int | None


class SiteOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    retired_ns: int | None
    zones: list[ZoneOut]


class SkuOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    sku: str
    name: str
    unit: str
    pack_size: int
    retired_ns: int | None
    gtin: str


class RuleOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    condition: str
    metric: str
    limit: float
    clear_below: float
    min_duration_s: float
    severity: str
    what_to_check: str
    phase: str
    retired_ns: int | None
    engine: str
    metrics: list[str]
    model: str
    no_fault_found: int = Field(description="work orders closed no_fault_found: each lowers its confidence")


class AssetOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    site: str
    name: str
    kind: str
    sensors: list[dict[str, str]]
    rules: list[RuleOut]
    retired_ns: int | None
    recipients: list[str]


class LaneOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    gateway: str
    device: str
    units: float | None
    units_ts_ns: int | None
    retired_ns: int | None


class LocationOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    site: str
    sku: str
    location: str
    min: float
    target: float
    safety_stock: float
    lanes: list[LaneOut]
    retired_ns: int | None
    aisle: str
    shelf: str
    zone: str


class UnmatchedDevice(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    gateway: str
    device: str
    kind: str
    asset_id: str | None
    site: str | None
    sku: str | None
    location: str | None
    candidates: list[str]


class Mapping(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    unmatched: list[UnmatchedDevice]
    unmapped: list[Device]


def _change(change: Any) -> ChangeOut:
    return ChangeOut.model_validate(change)


# -- scope ---------------------------------------------------------------------------------


def _own_gateway(core: CoreDep, principal: Principal, gateway_id: str) -> None:
    """A gateway of another store (or one the catalog placed in none) is not found; an
    unknown one is left to the catalog's own answer."""
    if not principal.scoped:
        return
    try:
        found = core.get_gateway(gateway_id)
    except NotFound:
        return
    if not principal.sees(found.site):
        raise NotFound("gateway", gateway_id)


def _own_asset(core: CoreDep, principal: Principal, asset_id: str) -> None:
    """An asset of another store is not found (an unknown one: the catalog's answer)."""
    if not principal.scoped:
        return
    found = [a for a in core.list_assets(include_retired=True) if a.id == asset_id]
    if found and not principal.sees(found[0].site):
        raise NotFound("asset", asset_id)


# -- routes --------------------------------------------------------------------------------


@router.get("/mapping", response_model=Mapping)
def mapping(core: CoreDep, principal: PrincipalDep, gateway: PathName | None = None) -> Mapping:
    """Catalog lanes and sensors no gateway has reported (``unmatched``: a misspelt name stays
    here, with the unmapped devices of the same lane number as ``candidates``) and reporting
    devices no catalog entry maps (``unmapped``). Lanes are named ``<device id>.lane-<n>``."""
    return Mapping.model_validate(core.catalog_mapping(gateway=gateway, sites=principal.sites))


@router.get("/sites", response_model=list[SiteOut])
def list_sites(
    core: CoreDep, principal: PrincipalDep, page: PageDep, include_retired: bool = False
) -> list[SiteOut]:
    return [
        SiteOut.model_validate(x)
        for x in page.slice(core.list_sites(include_retired=include_retired, sites=principal.sites))
    ]


@router.put("/sites/{site_id}", response_model=ChangeOut, responses=ERRORS)
def put_site(core: CoreDep, principal: PrincipalDep, site_id: PathName, body: SiteIn) -> ChangeOut:
    principal.require_site(site_id)
    return _change(
        core.change_catalog(
            lambda ops: ops.put_site(
                SiteSpec(site_id, body.name, tuple(ZoneSpec(z.zone, z.kind) for z in body.zones))
            ),
            actor=principal.actor,
        )
    )


@router.post("/sites/{site_id}/retire", response_model=ChangeOut, responses=ERRORS)
def retire_site(
    core: CoreDep, principal: PrincipalDep, site_id: PathName, body: Actor | None = None
) -> ChangeOut:
    principal.require_site(site_id)
    return _change(core.change_catalog(lambda ops: ops.retire_site(site_id), actor=principal.actor))


@router.put("/gateways/{gateway_id}", response_model=ChangeOut, responses=ERRORS)
def put_gateway(core: CoreDep, principal: PrincipalDep, gateway_id: PathName, body: GatewayIn) -> ChangeOut:
    """Register a gateway at its site (a pending gateway's held data waits for ``…/release``)."""
    _own_gateway(core, principal, gateway_id)
    principal.require_site(body.site)
    spec = GatewaySpec(gateway_id, body.site)
    return _change(core.change_catalog(lambda ops: ops.put_gateway(spec), actor=principal.actor))


class Released(ApiModel):
    gateway: str
    released: int = Field(description="held batches applied now")


@router.post("/gateways/{gateway_id}/release", response_model=Released, responses=ERRORS)
def release_held(
    core: CoreDep, principal: PrincipalDep, gateway_id: PathName, body: Actor | None = None
) -> Released:
    """Apply the data held while the gateway was unknown (``unknown-gateway`` in quarantine).
    Register the gateway and map its devices first; 409 while it is pending or retired.
    Loading a catalog file releases by itself (the file maps the devices with the gateway)."""
    _own_gateway(core, principal, gateway_id)
    return Released(gateway=gateway_id, released=core.release_held(gateway_id, actor=principal.actor))


@router.post("/gateways/{gateway_id}/retire", response_model=ChangeOut, responses=ERRORS)
def retire_gateway(
    core: CoreDep, principal: PrincipalDep, gateway_id: PathName, body: Actor | None = None
) -> ChangeOut:
    _own_gateway(core, principal, gateway_id)
    return _change(core.change_catalog(lambda ops: ops.retire_gateway(gateway_id), actor=principal.actor))


@router.get("/skus", response_model=list[SkuOut])
def list_skus(core: CoreDep, page: PageDep, include_retired: bool = False) -> list[SkuOut]:
    """The SKUs are shared by every store: every caller reads them."""
    return [SkuOut.model_validate(x) for x in page.slice(core.list_skus(include_retired=include_retired))]


@router.put("/skus/{sku}", response_model=ChangeOut, responses=ERRORS)
def put_sku(core: CoreDep, principal: PrincipalDep, sku: str, body: SkuIn) -> ChangeOut:
    spec = SkuSpec(sku, body.name, body.unit, body.pack_size, body.gtin)
    return _change(core.change_catalog(lambda ops: ops.put_sku(spec), actor=principal.actor))


@router.post("/skus/{sku}/retire", response_model=ChangeOut, responses=ERRORS)
def retire_sku(core: CoreDep, principal: PrincipalDep, sku: str, body: Actor | None = None) -> ChangeOut:
    return _change(core.change_catalog(lambda ops: ops.retire_sku(sku), actor=principal.actor))


@router.get("/assets", response_model=list[AssetOut])
def list_assets(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    site: PathName | None = None,
    include_retired: bool = False,
) -> list[AssetOut]:
    return [
        AssetOut.model_validate(x)
        for x in page.slice(
            core.list_assets(sites=principal.site_filter(site), include_retired=include_retired)
        )
    ]


@router.put("/assets/{asset_id}", response_model=ChangeOut, responses=ERRORS)
def put_asset(core: CoreDep, principal: PrincipalDep, asset_id: PathName, body: AssetIn) -> ChangeOut:
    """An asset with its complete set of rules (rules left out are retired) and its sensor."""
    _own_asset(core, principal, asset_id)
    principal.require_site(body.site)
    if body.gateway is not None:
        _own_gateway(core, principal, body.gateway)
    spec = AssetSpec(
        asset_id,
        body.site,
        body.name,
        body.kind,
        body.gateway,
        body.device,
        tuple(
            RuleSpec(
                r.condition,
                r.metric,
                r.limit,
                r.clear_below,
                r.min_duration_s,
                r.severity,
                r.what_to_check,
                r.engine,
                tuple(r.metrics),
                r.model,
            )
            for r in body.rules
        ),
        tuple(body.recipients) if body.recipients is not None else None,
    )
    return _change(core.change_catalog(lambda ops: ops.put_asset(spec), actor=principal.actor))


@router.post("/assets/{asset_id}/retire", response_model=ChangeOut, responses=ERRORS)
def retire_asset(
    core: CoreDep, principal: PrincipalDep, asset_id: PathName, body: Actor | None = None
) -> ChangeOut:
    """Retire the asset with its rules; its sensors no longer feed anything."""
    _own_asset(core, principal, asset_id)
    return _change(core.change_catalog(lambda ops: ops.retire_asset(asset_id), actor=principal.actor))


@router.get("/locations", response_model=list[LocationOut])
def list_locations(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    site: PathName | None = None,
    include_retired: bool = False,
) -> list[LocationOut]:
    found = page.slice(
        core.list_locations(sites=principal.site_filter(site), include_retired=include_retired)
    )
    return [LocationOut.model_validate(x) for x in found]


@router.put("/locations", response_model=LocationOut, responses=ERRORS)
def put_location(core: CoreDep, principal: PrincipalDep, body: LocationIn) -> LocationOut:
    """A stock location by its key (site, sku, location) with its complete set of lanes;
    its open proposal is re-sized with the new parameters at once."""
    principal.require_site(body.site)
    for lane in body.lanes:
        _own_gateway(core, principal, lane.gateway)
    spec = LocationSpec(
        body.site,
        body.sku,
        body.location,
        body.min,
        body.target,
        body.safety_stock,
        tuple(LaneSpec(lane.gateway, lane.device) for lane in body.lanes),
        aisle=body.aisle,
        shelf=body.shelf,
        zone=body.zone,
    )
    _, loc_id = core.change_catalog(lambda ops: ops.put_location(spec), actor=principal.actor)
    (found,) = [x for x in core.list_locations(site=body.site) if x.id == loc_id]
    return LocationOut.model_validate(found)


@router.post("/locations/{location_id}/retire", response_model=ChangeOut, responses=ERRORS)
def retire_location(
    core: CoreDep, principal: PrincipalDep, location_id: RowId, body: Actor | None = None
) -> ChangeOut:
    """Retire the location with its lanes; its proposals not yet ordered are rejected."""
    if principal.scoped and location_id not in {
        x.id for x in core.list_locations(sites=principal.sites, include_retired=True)
    }:
        raise NotFound("location", location_id)
    return _change(core.change_catalog(lambda ops: ops.retire_location(location_id), actor=principal.actor))


@router.post("/devices/retire", response_model=ChangeOut, responses=ERRORS)
def retire_device(core: CoreDep, principal: PrincipalDep, body: DeviceRef) -> ChangeOut:
    """The device no longer feeds its lane or asset (it is listed as unmapped if it reports)."""
    _own_gateway(core, principal, body.gateway)
    return _change(
        core.change_catalog(lambda ops: ops.unmap_device(body.gateway, body.device), actor=principal.actor)
    )
