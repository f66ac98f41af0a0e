"""The catalog file: sites, gateways, SKUs, assets with their rules, stock locations with lanes.

The format (TOML or JSON, or the same structure as a dict) is documented by example in
``catalog.example.toml`` next to this module. The loader only reads and type-checks the
entries; it is a thin client of the catalog operations (``_catalog_ops``) that the HTTP
API uses too, so both validate, audit and retire the same way. Loading the same catalog
twice changes nothing; a changed catalog updates parameters in place (rule state, stock
levels and history are kept) and retires what it no longer lists.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from ._catalog_ops import CatalogOps
from ._catalog_specs import (
    AssetSpec,
    GatewaySpec,
    LaneSpec,
    LocationSpec,
    MaintenanceSpec,
    RuleSpec,
    SiteSpec,
    SkuSpec,
    ZoneSpec,
)
from ._errors import CatalogError
from ._models import Asset, Gateway, MaintenanceGuide, Site, Sku, StockLocation
from ._records import CatalogSummary

__all__ = ["read_catalog", "upsert_catalog"]

Entry = Mapping[str, Any]


def read_catalog(catalog: Mapping[str, Any] | str | os.PathLike[str]) -> Mapping[str, Any]:
    if isinstance(catalog, Mapping):
        return catalog
    path = Path(catalog)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"catalog {path}: the top level must be a table/object")
    return data


def _entries(catalog: Mapping[str, Any], key: str) -> list[Entry]:
    value = catalog.get(key, [])
    if not isinstance(value, list) or not all(isinstance(e, Mapping) for e in value):
        raise CatalogError(f"catalog: {key!r} must be a list of tables")
    return value


def _get(entry: Entry, field: str, where: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    if field not in entry:
        if default is ...:
            raise CatalogError(f"catalog {where}: missing field {field!r}")
        return default
    value = entry[field]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise CatalogError(f"catalog {where}: field {field!r} has the wrong type ({type(value).__name__})")
    if isinstance(value, str) and not value and default is ...:
        raise CatalogError(f"catalog {where}: field {field!r} is empty")
    return value


NUM = (int, float)
SECTIONS = frozenset({"sites", "gateways", "skus", "assets", "locations", "maintenance"})
#: the fields of each entry (anything else is refused, naming it)
RULE_FIELDS = frozenset(
    {
        "condition",
        "metric",
        "limit",
        "clear_below",
        "min_duration_s",
        "severity",
        "what_to_check",
        "engine",
        "metrics",
        "model",
    }
)
MAINTENANCE_FIELDS = frozenset({"kind", "fault", "checks", "spare_parts"})


def upsert_catalog(conn: Connection, catalog: Mapping[str, Any], *, actor: str, now: int) -> CatalogSummary:
    """Apply the catalog through the catalog operations (``_catalog_ops``), in order.

    A section present is the complete list of its kind: active entries of that kind the
    file no longer lists are retired (an asset with its rules, a location with its lanes).
    A section left out leaves that kind as it is.
    """
    unknown = set(catalog) - SECTIONS
    if unknown:
        raise CatalogError(f"catalog: unknown section(s) {sorted(unknown)}")
    ops = CatalogOps(conn, actor, now)
    sites = [_site(e, f"sites[{i}]") for i, e in enumerate(_entries(catalog, "sites"))]
    for i, site in enumerate(sites):
        ops.put_site(site, f"sites[{i}]")
    gateways = [_gateway(e, f"gateways[{i}]") for i, e in enumerate(_entries(catalog, "gateways"))]
    for i, gw in enumerate(gateways):
        ops.put_gateway(gw, f"gateways[{i}]")
    skus = [_sku(e, f"skus[{i}]") for i, e in enumerate(_entries(catalog, "skus"))]
    for i, sku in enumerate(skus):
        ops.put_sku(sku, f"skus[{i}]")
    assets = [_asset(e, f"assets[{i}]") for i, e in enumerate(_entries(catalog, "assets"))]
    for i, asset in enumerate(assets):
        ops.put_asset(asset, f"assets[{i}]")
    locations = [_location(e, f"locations[{i}]") for i, e in enumerate(_entries(catalog, "locations"))]
    for i, loc in enumerate(locations):
        ops.put_location(loc, f"locations[{i}]")
    guides = [_maintenance(e, f"maintenance[{i}]") for i, e in enumerate(_entries(catalog, "maintenance"))]
    for i, guide in enumerate(guides):
        ops.put_maintenance(guide, f"maintenance[{i}]")
    retired = 0
    if "maintenance" in catalog:
        g = MaintenanceGuide.__table__.c
        listed_guides = {(x.kind, x.fault) for x in guides}
        for kind, fault in conn.execute(
            select(g.kind, g.fault).where(g.retired_ns.is_(None)).order_by(g.kind, g.fault)
        ).all():
            if (kind, fault) not in listed_guides:
                ops.retire_maintenance(kind, fault)
                retired += 1
    if "locations" in catalog:
        listed = {(x.site, x.sku, x.location) for x in locations}
        c = StockLocation.__table__.c
        for loc_id, *key in conn.execute(
            select(c.id, c.site, c.sku, c.location).where(c.retired_ns.is_(None)).order_by(c.id)
        ).all():
            if tuple(key) not in listed:
                ops.retire_location(loc_id)
                retired += 1
    for section, model, field, names in (
        ("assets", Asset, "id", {a.id for a in assets}),
        ("skus", Sku, "sku", {k.sku for k in skus}),
        ("gateways", Gateway, "id", {g.id for g in gateways}),
        ("sites", Site, "id", {s.id for s in sites}),
    ):
        if section not in catalog:
            continue
        col = model.__table__.c[field]
        for key in conn.scalars(
            select(col).where(model.__table__.c.retired_ns.is_(None)).order_by(col)
        ).all():
            if key in names or (model is Gateway and _pending(conn, key)):
                continue
            getattr(ops, f"retire_{section[:-1]}")(key)
            retired += 1
    return CatalogSummary(
        sites=len({s.id for s in sites}),
        gateways=len({g.id for g in gateways}),
        skus=len({k.sku for k in skus}),
        assets=len({a.id for a in assets}),
        rules=sum(len(a.rules) for a in assets),
        locations=len({(x.site, x.sku, x.location) for x in locations}),
        lanes=sum(len(x.lanes) for x in locations),
        retired=retired,
    )


def _pending(conn: Connection, gateway: str) -> bool:
    """Gateways the catalog never placed (pending, auto-registered) are not the file's to retire."""
    c = Gateway.__table__.c
    return conn.scalar(select(c.registration).where(c.id == gateway)) != "catalog"


def _site(e: Entry, where: str) -> SiteSpec:
    zones = tuple(
        ZoneSpec(
            zone=_get(z, "zone", f"{where}.zones[{j}]", str),
            kind=_get(z, "kind", f"{where}.zones[{j}]", str, "floor"),
        )
        for j, z in enumerate(_entries(e, "zones"))
    )
    return SiteSpec(id=_get(e, "id", where, str), name=_get(e, "name", where, str, ""), zones=zones)


def _gateway(e: Entry, where: str) -> GatewaySpec:
    return GatewaySpec(id=_get(e, "id", where, str), site=_get(e, "site", where, str))


def _sku(e: Entry, where: str) -> SkuSpec:
    return SkuSpec(
        sku=_get(e, "sku", where, str),
        name=_get(e, "name", where, str, ""),
        unit=_get(e, "unit", where, str, "unit"),
        pack_size=_get(e, "pack_size", where, int, 1),
        gtin=_get(e, "gtin", where, str, ""),
    )


def _asset(e: Entry, where: str) -> AssetSpec:
    rules = []
    for j, r in enumerate(_entries(e, "rules")):
        rw = f"{where}.rules[{j}]"
        unknown = set(r) - RULE_FIELDS
        if unknown:
            raise CatalogError(f"catalog {rw}: unknown field(s) {sorted(unknown)}")
        engine = _get(r, "engine", rw, str, "threshold")
        detector = engine == "detector"
        limit = float(_get(r, "limit", rw, NUM, 0.0) if detector else _get(r, "limit", rw, NUM))
        clear = _get(r, "clear_below", rw, NUM, None)
        rules.append(
            RuleSpec(
                condition=_get(r, "condition", rw, str),
                metric=_get(r, "metric", rw, str, "") if detector else _get(r, "metric", rw, str),
                limit=limit,
                clear_below=float(clear) if clear is not None else None,
                min_duration_s=float(_get(r, "min_duration_s", rw, NUM, 0.0)),
                severity=_get(r, "severity", rw, str, "warning"),
                what_to_check=_get(r, "what_to_check", rw, str, ""),
                engine=engine,
                metrics=_strings(r, "metrics", rw),
                model=_get(r, "model", rw, str, ""),
            )
        )
    has_device = "device" in e
    return AssetSpec(
        id=_get(e, "id", where, str),
        site=_get(e, "site", where, str),
        name=_get(e, "name", where, str, ""),
        kind=_get(e, "kind", where, str, ""),
        gateway=_get(e, "gateway", where, str) if has_device else None,
        device=_get(e, "device", where, str) if has_device else None,
        rules=tuple(rules),
        recipients=_strings(e, "recipients", where),
    )


def _strings(e: Entry, field: str, where: str) -> tuple[str, ...]:
    value = e.get(field, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"catalog {where}: field {field!r} must be a list of strings")
    return tuple(value)


def _maintenance(e: Entry, where: str) -> MaintenanceSpec:
    unknown = set(e) - MAINTENANCE_FIELDS
    if unknown:
        raise CatalogError(f"catalog {where}: unknown field(s) {sorted(unknown)}")
    parts = []
    for j, p in enumerate(_entries(e, "spare_parts")):
        pw = f"{where}.spare_parts[{j}]"
        parts.append((_get(p, "part", pw, str), float(_get(p, "quantity", pw, NUM, 1))))
    return MaintenanceSpec(
        kind=_get(e, "kind", where, str, ""),
        fault=_get(e, "fault", where, str, ""),
        checks=_strings(e, "checks", where),
        spare_parts=tuple(parts),
    )


def _location(e: Entry, where: str) -> LocationSpec:
    lanes = tuple(
        LaneSpec(
            gateway=_get(lane, "gateway", f"{where}.lanes[{j}]", str),
            device=_get(lane, "device", f"{where}.lanes[{j}]", str),
        )
        for j, lane in enumerate(_entries(e, "lanes"))
    )
    return LocationSpec(
        site=_get(e, "site", where, str),
        sku=_get(e, "sku", where, str),
        location=_get(e, "location", where, str),
        min=float(_get(e, "min", where, NUM)),
        target=float(_get(e, "target", where, NUM)),
        safety_stock=float(_get(e, "safety_stock", where, NUM, 0.0)),
        lanes=lanes,
        aisle=_get(e, "aisle", where, str, ""),
        shelf=_get(e, "shelf", where, str, ""),
        zone=_get(e, "zone", where, str, ""),
    )
