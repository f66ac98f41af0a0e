"""Read side of the catalog: sites, SKUs, assets with rules and sensors, locations with lanes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ._models import Asset, ConditionRule, Device, Lane, Site, SiteZone, Sku, StockLocation
from ._scope import Sites, within

__all__ = [
    "AssetRecord",
    "LaneRecord",
    "LocationRecord",
    "RuleRecord",
    "SiteRecord",
    "SkuRecord",
    "ZoneRecord",
    "list_assets",
    "list_locations",
    "list_sites",
    "list_skus",
]


@dataclass(frozen=True, slots=True)
class ZoneRecord:
    zone: str
    kind: str
    retired_ns: int | None


@dataclass(frozen=True, slots=True)
class SiteRecord:
    id: str
    name: str
    retired_ns: int | None
    zones: tuple[ZoneRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class SkuRecord:
    sku: str
    name: str
    unit: str
    pack_size: int
    retired_ns: int | None
    gtin: str = ""


@dataclass(frozen=True, slots=True)
class RuleRecord:
    condition: str
    metric: str
    limit: float
    clear_below: float
    min_duration_s: float
    severity: str
    what_to_check: str
    phase: str
    retired_ns: int | None
    engine: str = "threshold"
    metrics: tuple[str, ...] = ()
    model: str = ""
    #: work orders of its alerts closed no_fault_found (each lowers its confidence)
    no_fault_found: int = 0


@dataclass(frozen=True, slots=True)
class AssetRecord:
    id: str
    site: str
    name: str
    kind: str
    sensors: list[dict[str, str]]  # {"gateway", "device"}
    rules: list[RuleRecord]
    retired_ns: int | None
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LaneRecord:
    gateway: str
    device: str
    units: float | None
    units_ts_ns: int | None
    retired_ns: int | None


@dataclass(frozen=True, slots=True)
class LocationRecord:
    id: int
    site: str
    sku: str
    location: str
    min: float
    target: float
    safety_stock: float
    lanes: list[LaneRecord]
    retired_ns: int | None
    aisle: str = ""
    shelf: str = ""
    zone: str = ""


def _retired(model: Any, include_retired: bool) -> Any:
    return True if include_retired else model.retired_ns.is_(None)


def list_sites(s: Session, include_retired: bool, sites: Sites = None) -> list[SiteRecord]:
    q = select(Site).where(_retired(Site, include_retired), within(Site.id, sites)).order_by(Site.id)
    zones: dict[str, list[ZoneRecord]] = {}
    zq = select(SiteZone).where(_retired(SiteZone, include_retired)).order_by(SiteZone.site, SiteZone.zone)
    for z in s.scalars(zq):
        zones.setdefault(z.site, []).append(ZoneRecord(z.zone, z.kind, z.retired_ns))
    return [SiteRecord(x.id, x.name, x.retired_ns, tuple(zones.get(x.id, ()))) for x in s.scalars(q)]


def list_skus(s: Session, include_retired: bool) -> list[SkuRecord]:
    q = select(Sku).where(_retired(Sku, include_retired)).order_by(Sku.sku)
    return [SkuRecord(x.sku, x.name, x.unit, x.pack_size, x.retired_ns, x.gtin) for x in s.scalars(q)]


def list_assets(
    s: Session, site: str | None, include_retired: bool, sites: Sites = None
) -> list[AssetRecord]:
    q = select(Asset).where(_retired(Asset, include_retired), within(Asset.site, sites)).order_by(Asset.id)
    if site is not None:
        q = q.where(Asset.site == site)
    assets = list(s.scalars(q))
    ids = [a.id for a in assets]
    rules: dict[str, list[RuleRecord]] = {}
    rq = select(ConditionRule).where(
        ConditionRule.asset_id.in_(ids), _retired(ConditionRule, include_retired)
    )
    for r in s.scalars(rq.order_by(ConditionRule.asset_id, ConditionRule.condition)):
        rules.setdefault(r.asset_id, []).append(
            RuleRecord(
                r.condition,
                r.metric,
                r.limit_value,
                r.clear_below,
                r.min_duration_s,
                r.severity,
                r.what_to_check,
                r.phase,
                r.retired_ns,
                r.engine,
                tuple(r.metrics or ()),
                r.model,
                r.no_fault_found,
            )
        )
    sensors: dict[str, list[dict[str, str]]] = {}
    dq = select(Device).where(Device.asset_id.in_(ids)).order_by(Device.gateway, Device.device)
    for d in s.scalars(dq):
        sensors.setdefault(d.asset_id or "", []).append({"gateway": d.gateway, "device": d.device})
    return [
        AssetRecord(
            a.id,
            a.site,
            a.name,
            a.kind,
            sensors.get(a.id, []),
            rules.get(a.id, []),
            a.retired_ns,
            tuple(a.recipients or ()),
        )
        for a in assets
    ]


def list_locations(
    s: Session, site: str | None, include_retired: bool, sites: Sites = None
) -> list[LocationRecord]:
    q = select(StockLocation).where(
        _retired(StockLocation, include_retired), within(StockLocation.site, sites)
    )
    if site is not None:
        q = q.where(StockLocation.site == site)
    locations = list(s.scalars(q.order_by(StockLocation.site, StockLocation.sku, StockLocation.location)))
    lanes: dict[int, list[LaneRecord]] = {}
    lq = select(Lane).where(Lane.location_id.in_([x.id for x in locations]), _retired(Lane, include_retired))
    for lane in s.scalars(lq.order_by(Lane.id)):
        lanes.setdefault(lane.location_id, []).append(
            LaneRecord(lane.gateway, lane.device, lane.units, lane.units_ts_ns, lane.retired_ns)
        )
    return [
        LocationRecord(
            x.id,
            x.site,
            x.sku,
            x.location,
            x.min_units,
            x.target_units,
            x.safety_stock,
            lanes.get(x.id, []),
            x.retired_ns,
            x.aisle,
            x.shelf,
            x.zone,
        )
        for x in locations
    ]
