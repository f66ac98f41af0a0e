"""Catalog seeding: sites, gateways, SKUs, assets with their rules, stock locations with lanes.

The format (TOML or JSON, or the same structure as a dict) is documented by example in
``catalog.example.toml`` next to this module. Loading upserts by natural key, so loading
the same catalog twice changes nothing and a changed catalog updates parameters in place
(rule state, stock levels and history are kept).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from bohsense.contracts.devices import parse_lane_device

from ._db import conflict_insert
from ._errors import CatalogError
from ._models import Asset, ConditionRule, Device, Gateway, Lane, Site, Sku, StockLocation
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


def _lane_name(lane: Entry, where: str) -> str:
    device: str = _get(lane, "device", where, str)
    if parse_lane_device(device) is None:
        raise CatalogError(
            f"catalog {where}: device {device!r} is not a lane: shelves report each lane as"
            " '<device id>.lane-<n>' (n from 1; the device id is the shelf's HELLO id or the"
            " gateway configuration's device_id), e.g. 'shelf-01.lane-1'"
        )
    return device


def upsert_catalog(conn: Connection, catalog: Mapping[str, Any]) -> CatalogSummary:
    unknown = set(catalog) - {"sites", "gateways", "skus", "assets", "locations"}
    if unknown:
        raise CatalogError(f"catalog: unknown section(s) {sorted(unknown)}")
    site_rows = [
        {"id": _get(e, "id", f"sites[{i}]", str), "name": _get(e, "name", f"sites[{i}]", str, "")}
        for i, e in enumerate(_entries(catalog, "sites"))
    ]
    site_ids = {r["id"] for r in site_rows}
    site_ids |= set(conn.scalars(select(Site.id)))

    def check_site(value: str, where: str) -> str:
        if value not in site_ids:
            raise CatalogError(f"catalog {where}: unknown site {value!r}")
        return value

    _upsert(conn, Site, site_rows, ["id"])
    gw_rows = [
        {
            "id": _get(e, "id", f"gateways[{i}]", str),
            "site": check_site(_get(e, "site", f"gateways[{i}]", str), f"gateways[{i}]"),
            "registration": "catalog",
        }
        for i, e in enumerate(_entries(catalog, "gateways"))
    ]
    _upsert(conn, Gateway, gw_rows, ["id"])
    gateway_ids = {r["id"] for r in gw_rows} | set(
        conn.scalars(select(Gateway.id).where(Gateway.registration != "pending"))
    )

    def check_gateway(value: str, where: str) -> str:
        if value not in gateway_ids:
            raise CatalogError(
                f"catalog {where}: gateway {value!r} is not declared: add it to [[gateways]] with"
                " its site (the catalog says which gateways exist and where)"
            )
        return value

    sku_rows = []
    for i, e in enumerate(_entries(catalog, "skus")):
        where = f"skus[{i}]"
        pack = _get(e, "pack_size", where, int, 1)
        if pack < 1:
            raise CatalogError(f"catalog {where}: pack_size must be >= 1")
        sku_rows.append(
            {
                "sku": _get(e, "sku", where, str),
                "name": _get(e, "name", where, str, ""),
                "unit": _get(e, "unit", where, str, "unit"),
                "pack_size": pack,
            }
        )
    _upsert(conn, Sku, sku_rows, ["sku"])
    sku_ids = set(conn.scalars(select(Sku.sku)))

    asset_rows, rule_rows, device_rows = [], [], []
    for i, e in enumerate(_entries(catalog, "assets")):
        where = f"assets[{i}]"
        asset_id = _get(e, "id", where, str)
        asset_rows.append(
            {
                "id": asset_id,
                "site": check_site(_get(e, "site", where, str), where),
                "name": _get(e, "name", where, str, ""),
                "kind": _get(e, "kind", where, str, ""),
            }
        )
        if "device" in e:
            device_rows.append(
                {
                    "gateway": check_gateway(_get(e, "gateway", where, str), where),
                    "device": _get(e, "device", where, str),
                    "kind": "asset",
                    "asset_id": asset_id,
                    "lane_id": None,
                }
            )
        for j, r in enumerate(_entries(e, "rules")):
            rw = f"{where}.rules[{j}]"
            limit = float(_get(r, "limit", rw, NUM))
            clear = float(_get(r, "clear_below", rw, NUM, limit))
            duration = float(_get(r, "min_duration_s", rw, NUM, 0.0))
            if clear > limit:
                raise CatalogError(f"catalog {rw}: clear_below ({clear}) must not exceed limit ({limit})")
            if duration < 0:
                raise CatalogError(f"catalog {rw}: min_duration_s must be >= 0")
            rule_rows.append(
                {
                    "asset_id": asset_id,
                    "condition": _get(r, "condition", rw, str),
                    "metric": _get(r, "metric", rw, str),
                    "limit_value": limit,
                    "clear_below": clear,
                    "min_duration_s": duration,
                    "severity": _get(r, "severity", rw, str, "warning"),
                    "what_to_check": _get(r, "what_to_check", rw, str, ""),
                }
            )
    _upsert(conn, Asset, asset_rows, ["id"])
    _upsert(conn, ConditionRule, rule_rows, ["asset_id", "condition"])

    loc_rows, lane_specs = [], []
    for i, e in enumerate(_entries(catalog, "locations")):
        where = f"locations[{i}]"
        sku = _get(e, "sku", where, str)
        if sku not in sku_ids:
            raise CatalogError(f"catalog {where}: unknown sku {sku!r}")
        key = (check_site(_get(e, "site", where, str), where), sku, _get(e, "location", where, str))
        low, target = float(_get(e, "min", where, NUM)), float(_get(e, "target", where, NUM))
        if target < low:
            raise CatalogError(f"catalog {where}: target ({target}) must be >= min ({low})")
        safety = float(_get(e, "safety_stock", where, NUM, 0.0))
        if not 0 <= safety <= low:
            raise CatalogError(
                f"catalog {where}: safety_stock ({safety}) must not exceed min ({low}), the reorder point"
                " it is part of, nor be negative"
            )
        loc_rows.append(
            {
                "site": key[0],
                "sku": key[1],
                "location": key[2],
                "min_units": low,
                "target_units": target,
                "safety_stock": safety,
            }
        )
        for j, lane in enumerate(_entries(e, "lanes")):
            lw = f"{where}.lanes[{j}]"
            lane_specs.append((key, check_gateway(_get(lane, "gateway", lw, str), lw), _lane_name(lane, lw)))
    _upsert(conn, StockLocation, loc_rows, ["site", "sku", "location"])
    loc_ids = {
        (r.site, r.sku, r.location): r.id
        for r in conn.execute(
            select(StockLocation.id, StockLocation.site, StockLocation.sku, StockLocation.location)
        )
    }
    lane_rows = [{"location_id": loc_ids[k], "gateway": g, "device": d} for k, g, d in lane_specs]

    _upsert(conn, Lane, lane_rows, ["gateway", "device"])
    lane_ids = {(r.gateway, r.device): r.id for r in conn.execute(select(Lane.id, Lane.gateway, Lane.device))}
    device_rows += [
        {"gateway": g, "device": d, "kind": "lane", "asset_id": None, "lane_id": lane_ids[(g, d)]}
        for _, g, d in lane_specs
    ]
    _upsert(conn, Device, device_rows, ["gateway", "device"])
    return CatalogSummary(
        sites=len(site_rows),
        gateways=len(gw_rows),
        skus=len(sku_rows),
        assets=len(asset_rows),
        rules=len(rule_rows),
        locations=len(loc_rows),
        lanes=len(lane_rows),
    )


def _upsert(conn: Connection, model: type[Any], rows: list[dict[str, Any]], keys: list[str]) -> None:
    if not rows:
        return
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:  # the last entry for a key wins, as in a dict
        seen[tuple(row[k] for k in keys)] = row
    for row in seen.values():
        stmt = conflict_insert(conn, model).values(row)
        update = {k: v for k, v in row.items() if k not in keys}
        conn.execute(
            stmt.on_conflict_do_update(index_elements=keys, set_=update)
            if update
            else stmt.on_conflict_do_nothing()
        )
