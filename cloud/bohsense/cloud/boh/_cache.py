"""The catalog as the apply path needs it, held in memory: which device feeds what.

Loaded in a few queries (``load_cache``) on catalog load and when older than the core's
``cache_ttl_s``, so that readings of unmapped devices cost one dict lookup each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from ._models import ConditionRule, Device, Lane, ReplenishmentPlan, Sku, StockLocation
from .rules import ConditionParams, PlanParams
from .rules._detector import MAX_FEEDBACK_STEPS

__all__ = ["Cache", "DeviceMap", "Location", "load_cache", "load_plans"]


@dataclass(frozen=True, slots=True)
class DeviceMap:
    lane_id: int | None = None
    rules: dict[str, tuple[int, ...]] = field(default_factory=dict)  # metric -> condition rule ids


@dataclass(frozen=True, slots=True)
class Location:
    site: str
    sku: str
    location: str
    reorder_point: float
    target: float
    safety_stock: float
    pack_size: int
    #: the RFID zone that covers it and its SKU's GTIN: both set, tagged items are counted
    zone: str = ""
    gtin: str = ""
    aisle: str = ""
    shelf: str = ""


@dataclass(slots=True)
class Cache:
    devices: dict[tuple[str, str], DeviceMap] = field(default_factory=dict)
    rules: dict[int, ConditionParams] = field(default_factory=dict)
    lane_location: dict[int, int] = field(default_factory=dict)
    locations: dict[int, Location] = field(default_factory=dict)
    #: location id -> the planner's inputs (forecast plan), for the locations that have one
    plans: dict[int, PlanParams] = field(default_factory=dict)
    #: rules whose engine is a detector (their points carry the metric)
    detector_rules: frozenset[int] = frozenset()
    loaded_at: float = float("-inf")


def load_cache(conn: Connection) -> Cache:
    """Read device mappings, rule parameters and stock locations from the database."""
    cache = Cache(loaded_at=time.monotonic())
    rule_table = ConditionRule.__table__
    for r in conn.execute(select(rule_table).where(rule_table.c.retired_ns.is_(None))):
        duration = r.min_duration_s
        if r.engine != "detector":  # no fault found lowers its confidence: a longer minimum duration
            duration *= 2 ** min(r.no_fault_found, MAX_FEEDBACK_STEPS)
        cache.rules[r.id] = ConditionParams(
            asset_id=r.asset_id,
            condition=r.condition,
            metric=r.metric,
            limit=r.limit_value,
            clear_below=r.clear_below,
            min_duration_s=duration,
            severity=r.severity,
            what_to_check=r.what_to_check,
            engine=r.engine,
            metrics=tuple(str(m) for m in r.metrics or ()),
            model=r.model,
            no_fault_found=r.no_fault_found,
            rule_id=r.id,
        )
    by_asset: dict[str, dict[str, list[int]]] = {}
    for rid, p in cache.rules.items():
        for metric in p.metrics if p.engine == "detector" else (p.metric,):
            by_asset.setdefault(p.asset_id, {}).setdefault(metric, []).append(rid)
    cache.detector_rules = frozenset(rid for rid, p in cache.rules.items() if p.engine == "detector")
    for lane_id, loc_id in conn.execute(select(Lane.id, Lane.location_id).where(Lane.retired_ns.is_(None))):
        cache.lane_location[lane_id] = loc_id
    q = (
        select(StockLocation.__table__, Sku.pack_size, Sku.gtin)
        .join(Sku, Sku.sku == StockLocation.sku)
        .where(StockLocation.retired_ns.is_(None))
    )
    for loc in conn.execute(q):
        cache.locations[loc.id] = Location(
            loc.site,
            loc.sku,
            loc.location,
            loc.min_units,
            loc.target_units,
            loc.safety_stock,
            loc.pack_size,
            loc.zone,
            loc.gtin,
            loc.aisle,
            loc.shelf,
        )
    cache.plans = load_plans(conn)
    mapped = select(Device.gateway, Device.device, Device.asset_id, Device.lane_id)
    for gw, dev, asset_id, lane in conn.execute(mapped):
        if asset_id is not None or lane is not None:
            rules = {m: tuple(ids) for m, ids in by_asset.get(asset_id or "", {}).items()}
            cache.devices[(gw, dev)] = DeviceMap(lane_id=lane, rules=rules)
    return cache


def load_plans(conn: Connection) -> dict[int, PlanParams]:
    """The planner's inputs of every location that has one (``replenishment_plans``)."""
    t = ReplenishmentPlan.__table__
    out: dict[int, PlanParams] = {}
    for r in conn.execute(select(t)):
        out[r.location_id] = PlanParams(
            abc=r.abc,
            xyz=r.xyz,
            service_level=r.service_level,
            lead_time_days=r.lead_time_days,
            daily_mean=r.daily_mean,
            lead_time_mean=r.lead_time_mean,
            lead_time_var=r.lead_time_var,
            method=r.method,
            as_of_ns=r.as_of_ns,
            unit_cost=r.unit_cost,
            ordering_cost=r.ordering_cost,
            holding_rate=r.holding_rate,
            min_order=r.min_order,
            shelf_capacity=r.shelf_capacity,
        )
    return out
