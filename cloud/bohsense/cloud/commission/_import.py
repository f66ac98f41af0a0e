"""Import a store plan into the catalog: all of it in one transaction, or nothing.

Everything goes through the catalog operations (``boh.CatalogOps``) that the catalog API
and the catalog file use, so each entry is validated, audited (``catalog.<kind>.<verb>``)
and in effect as any catalog change is: the site with its RFID zones (the zones of the
sheet are the site's complete set), the gateway, the sheet's SKUs, each asset with its
condition sensor (rules it already has are kept), each stock location with its lanes.
Entries of the site the sheet does not mention are left as they are. The plan itself is
recorded as a ``commission.imported`` domain event of the site in the same transaction:
the checklist is computed against the newest one. A refusal by the catalog names the row.
Data the gateway sent before it was registered (held as ``unknown-gateway``) is applied
once the import has committed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..boh import (
    AssetSpec,
    BohCore,
    CatalogError,
    CatalogOps,
    GatewaySpec,
    LaneSpec,
    LocationSpec,
    RuleSpec,
    SiteSpec,
    SkuSpec,
    StateConflict,
    ZoneSpec,
)
from ..boh._domain_events import DomainEvent, emit
from ._errors import Issue, NotCommissioned, SheetInvalid
from ._parse import check_skus
from ._plan import StorePlan

__all__ = ["EVENT_KIND", "ImportResult", "check_only", "import_plan", "stored_plan"]

EVENT_KIND = "commission.imported"
ENTITY = "commission"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ImportResult:
    site: str
    gateway: str
    #: "<kind> <action>" → how many (``site created``, ``lane unchanged``…)
    changes: dict[str, int] = field(default_factory=dict)
    #: batches the gateway sent before it was registered, applied now
    released: int = 0


def import_plan(core: BohCore, plan: StorePlan, *, actor: str) -> ImportResult:
    """Apply ``plan`` (``SheetInvalid`` when the catalog refuses a row: nothing is applied)."""
    check_skus(plan, {s.sku for s in core.list_skus()})
    existing = {a.id: a for a in core.list_assets(include_retired=True)}
    gw = plan.gateway.id

    def guarded(sheet: str, row: int | None, call: Callable[..., T], *args: Any) -> T:
        try:
            return call(*args)
        except CatalogError as exc:
            raise SheetInvalid([Issue(sheet, row, None, f"the catalog refuses it: {exc}")]) from exc

    def apply(ops: CatalogOps) -> list[Any]:
        zones: dict[str, str] = {}
        for z in plan.zones:
            zones.setdefault(z.zone, z.zone_kind)
        site = SiteSpec(plan.site.id, plan.site.name, tuple(ZoneSpec(z, k) for z, k in sorted(zones.items())))
        guarded("site", None, ops.put_site, site, "site")
        guarded("gateway", None, ops.put_gateway, GatewaySpec(gw, plan.site.id), "gateway")
        for s in plan.skus:
            sku_spec = SkuSpec(s.sku, s.name, s.unit, s.pack_size, s.gtin)
            guarded("skus", s.row, ops.put_sku, sku_spec, f"skus row {s.row}")
        for a in plan.assets:
            old = existing.get(a.asset)
            rules = tuple(
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
                for r in (old.rules if old is not None else [])
                if r.retired_ns is None
            )
            asset = AssetSpec(
                a.asset, plan.site.id, a.name, a.kind, gw if a.sensor else None, a.sensor or None, rules, None
            )
            guarded("assets", a.row, ops.put_asset, asset, f"assets row {a.row}")
        groups: dict[tuple[str, str], list[Any]] = {}
        for lane in plan.lanes:
            groups.setdefault((lane.sku, lane.location), []).append(lane)
        for (sku, location), lanes in groups.items():
            first = lanes[0]

            def pick(name: str, default: Any, lanes: list[Any] = lanes) -> Any:
                return next((getattr(x, name) for x in lanes if getattr(x, name) not in (None, "")), default)

            capacity = float(sum(x.capacity for x in lanes))
            spec = LocationSpec(
                plan.site.id,
                sku,
                location,
                float(pick("min", 0.0)),
                float(pick("target", capacity)),
                float(pick("safety_stock", 0.0)),
                tuple(LaneSpec(gw, x.lane_device) for x in lanes),
                aisle=pick("aisle", ""),
                shelf=pick("shelf", ""),
                zone=pick("zone", ""),
            )
            guarded("lanes", first.row, ops.put_location, spec, f"lanes row {first.row}")
        detail = {"plan": plan.to_dict()}
        emit(
            ops.conn,
            DomainEvent(EVENT_KIND, ENTITY, plan.site.id, None, "imported", ops.now, ops.actor, detail),
        )
        return ops.changes

    changes = core.change_catalog(apply, actor=actor)
    counts = Counter(f"{c.kind} {c.action}" for c in changes)
    try:
        released = core.release_held(gw, actor=actor)
    except StateConflict:  # pragma: no cover - the gateway was registered just above
        released = 0
    return ImportResult(plan.site.id, gw, dict(sorted(counts.items())), released)


def stored_plan(core: BohCore, site: str) -> tuple[StorePlan, int]:
    """The newest imported plan of ``site`` and when it was imported (``NotCommissioned``)."""
    newest = None
    offset = 0
    while True:  # the audit log is read oldest first; a site has a handful of imports
        page = core.audit(entity=ENTITY, entity_id=site, limit=500, offset=offset)
        if not page:
            break
        newest = page[-1]
        offset += len(page)
    if newest is None or "plan" not in newest.detail:
        raise NotCommissioned(site)
    return StorePlan.from_dict(newest.detail["plan"]), newest.at_ns


def check_only(core: BohCore, plan: StorePlan) -> None:
    """What ``import_plan`` checks before it writes (the catalog may still refuse a row)."""
    check_skus(plan, {s.sku for s in core.list_skus()})
