"""Reading the raw sections of a sheet into a ``StorePlan`` (``parse_plan``), checked.

Every problem is collected as an ``Issue`` (sheet, row, column, what is wrong) and raised
together as ``SheetInvalid``: unknown sections and columns, missing required ones, a cell
of the wrong type or out of range, duplicate ids, references to devices, readers or SKUs
the sheet does not declare, values that disagree within one location. ``check_skus``
adds the one check that needs the catalog (a lane's SKU in neither the sheet nor the
catalog).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from bohsense.contracts.broker import BrokerUrlError, parse_broker_url
from bohsense.contracts.epc import EpcError, gtin_check_digit
from bohsense.contracts.topics import TopicError, validate_gateway_id

from ._cells import Reader, Row
from ._errors import Issue, SheetInvalid
from ._plan import (
    DEFAULT_OUTBOX,
    AssetPlan,
    Bearing,
    DevicePlan,
    GatewayPlan,
    LanePlan,
    SitePlan,
    SkuPlan,
    StorePlan,
    ZonePlan,
)
from ._sheet import RawSection

__all__ = ["check_skus", "parse_plan"]

# -- the plan ------------------------------------------------------------------------------


def parse_plan(raw: list[RawSection], *, source: dict[str, str] | None = None) -> StorePlan:
    """The plan of the raw sections, or ``SheetInvalid`` listing every issue."""
    r = Reader(raw)
    if "devices" not in r.rows:  # said once: not again by every row that names a device
        r.rows.pop("zones", None), r.rows.pop("lanes", None), r.rows.pop("assets", None)
    site = _site(r)
    gateway = _gateway(r)
    devices = _devices(r)
    zones = _zones(r, devices)
    skus = _skus(r)
    lanes = _lanes(r, devices, zones, skus)
    assets = _assets(r, devices)
    if r.issues or site is None or gateway is None:
        raise SheetInvalid(r.issues or [Issue("(file)", None, None, "no store in the sheet")])
    return StorePlan(
        site,
        gateway,
        tuple(devices.values()),
        tuple(zones),
        tuple(skus.values()),
        tuple(lanes),
        tuple(assets),
        dict(source or {}),
    )


def check_skus(plan: StorePlan, catalog_skus: Collection[str]) -> None:
    """Refuse lanes whose SKU neither the sheet nor the catalog (``catalog_skus``) knows."""
    listed = {s.sku for s in plan.skus}
    issues = [
        Issue(
            "lanes", lane.row, "sku", f"unknown SKU {lane.sku!r}: not in the skus section nor in the catalog"
        )
        for lane in plan.lanes
        if lane.sku not in listed and lane.sku not in catalog_skus
    ]
    if issues:
        raise SheetInvalid(issues)


def _one(r: Reader, name: str) -> Row | None:
    rows = r.rows.get(name, [])
    return rows[0] if len(rows) == 1 else None


def _site(r: Reader) -> SitePlan | None:
    row = _one(r, "site")
    if row is None or "site" not in row.values:
        return None
    return SitePlan(row.values["site"], row.values.get("name", ""))


def _gateway(r: Reader) -> GatewayPlan | None:
    row = _one(r, "gateway")
    if row is None:
        return None
    v = row.values
    ok = True
    if "gateway" in v:
        try:
            validate_gateway_id(v["gateway"])
        except TopicError as exc:
            r.issue("gateway", row.number, "gateway", str(exc))
            ok = False
    if "broker_url" in v:
        try:
            parse_broker_url(v["broker_url"], allow_credentials=False)
        except BrokerUrlError as exc:
            r.issue(
                "gateway",
                row.number,
                "broker_url",
                f"{exc} (the credentials are made at import, not written here)",
            )
            ok = False
    if not ok or "gateway" not in v or "broker_url" not in v:
        return None
    return GatewayPlan(
        v["gateway"], v["broker_url"], v.get("tls_ca", ""), v.get("outbox_path") or DEFAULT_OUTBOX
    )


def _devices(r: Reader) -> dict[str, DevicePlan]:
    out: dict[str, DevicePlan] = {}
    ports: dict[str, int] = {}
    for row in r.rows.get("devices", []):
        v = row.values
        if "device" not in v or "kind" not in v:
            continue
        dev, kind = v["device"], v["kind"]
        if dev in out:
            r.issue(
                "devices", row.number, "device", f"duplicate device {dev!r} (first at row {out[dev].row})"
            )
            continue
        serial = kind in ("shelf", "condition")
        for name in ("port", "baudrate") if not serial else ("host", "llrp_port"):
            if name in v:
                r.issue("devices", row.number, name, f"is not for a {kind} device")
        if serial and "port" not in v:
            r.issue("devices", row.number, "port", f"a {kind} device needs its serial port")
        if not serial and "host" not in v:
            r.issue("devices", row.number, "host", "an rfid reader needs its host")
        address = v.get("port", "") if serial else f"{v.get('host', '')}:{v.get('llrp_port', 5084)}"
        if address and address in ports:
            column = "port" if serial else "host"
            r.issue(
                "devices", row.number, column, f"{address} is already the address of row {ports[address]}"
            )
        ports.setdefault(address, row.number)
        out[dev] = DevicePlan(
            dev, kind, v.get("port", ""), v.get("baudrate"), v.get("host", ""), v.get("llrp_port"), row.number
        )
    return out


def _zones(r: Reader, devices: dict[str, DevicePlan]) -> list[ZonePlan]:
    out: list[ZonePlan] = []
    seen: dict[tuple[str, int], int] = {}
    kinds: dict[str, tuple[str, int]] = {}
    for row in r.rows.get("zones", []):
        v = row.values
        if not {"reader", "antenna", "zone"} <= set(v):
            continue
        reader, antenna, zone, kind = v["reader"], v["antenna"], v["zone"], v.get("zone_kind", "floor")
        dev = devices.get(reader)
        if dev is None or dev.kind != "rfid":
            what = "not in the devices section" if dev is None else f"a {dev.kind} device, not an rfid reader"
            r.issue("zones", row.number, "reader", f"reader {reader!r} is {what}")
            continue
        if (reader, antenna) in seen:
            r.issue(
                "zones",
                row.number,
                "antenna",
                f"antenna {antenna} of {reader!r} is already at row {seen[reader, antenna]}",
            )
            continue
        if zone in kinds and kinds[zone][0] != kind:
            r.issue(
                "zones",
                row.number,
                "zone_kind",
                f"zone {zone!r} is a {kinds[zone][0]} at row {kinds[zone][1]}",
            )
            continue
        seen[reader, antenna] = row.number
        kinds.setdefault(zone, (kind, row.number))
        out.append(ZonePlan(reader, antenna, zone, kind, row.number))
    for dev in devices.values():
        if dev.kind == "rfid" and not any(z.reader == dev.device for z in out):
            r.issue(
                "devices",
                dev.row,
                "device",
                f"rfid reader {dev.device!r} has no antenna in the zones section",
            )
    return out


def _skus(r: Reader) -> dict[str, SkuPlan]:
    out: dict[str, SkuPlan] = {}
    for row in r.rows.get("skus", []):
        v = row.values
        if "sku" not in v:
            continue
        if v["sku"] in out:
            r.issue(
                "skus", row.number, "sku", f"duplicate SKU {v['sku']!r} (first at row {out[v['sku']].row})"
            )
            continue
        gtin = v.get("gtin", "")
        if gtin.isascii() and gtin.isdigit() and 8 <= len(gtin) < 14:
            gtin = gtin.zfill(14)  # GTIN-8/12/13 as GTIN-14 (a spreadsheet drops leading zeros too)
        if gtin:
            why = _gtin_problem(gtin)
            if why:
                r.issue("skus", row.number, "gtin", why)
                continue
        out[v["sku"]] = SkuPlan(
            v["sku"], v.get("name", ""), v.get("unit") or "unit", v.get("pack_size", 1), gtin, row.number
        )
    return out


def _gtin_problem(gtin: str) -> str | None:
    if len(gtin) != 14 or not gtin.isascii() or not gtin.isdigit():
        return f"{gtin!r} is not a GTIN (8, 12, 13 or 14 digits with the check digit)"
    try:
        check = gtin_check_digit(gtin[:13])
    except EpcError as exc:  # pragma: no cover - the digits are checked above
        return str(exc)
    if int(gtin[13]) != check:
        return f"{gtin} ends in {gtin[13]}, its check digit is {check}"
    return None


_LOCATION_FIELDS = ("min", "target", "safety_stock", "aisle", "shelf", "zone")


def _lanes(
    r: Reader, devices: dict[str, DevicePlan], zones: list[ZonePlan], skus: dict[str, SkuPlan]
) -> list[LanePlan]:
    out: list[LanePlan] = []
    seen: dict[tuple[str, int], int] = {}
    weights: dict[str, tuple[float, int]] = {}
    groups: dict[tuple[str, str], dict[str, tuple[Any, int]]] = {}
    zone_names = {z.zone for z in zones}
    for row in r.rows.get("lanes", []):
        v = row.values
        if not {"device", "lane", "sku", "unit_weight_g", "capacity"} <= set(v):
            continue
        dev = devices.get(v["device"])
        if dev is None or dev.kind != "shelf":
            what = "not in the devices section" if dev is None else f"a {dev.kind} device, not a shelf"
            r.issue("lanes", row.number, "device", f"device {v['device']!r} is {what}")
            continue
        key = (v["device"], v["lane"])
        if key in seen:
            r.issue(
                "lanes",
                row.number,
                "lane",
                f"lane {v['lane']} of {v['device']!r} is already at row {seen[key]}",
            )
            continue
        seen[key] = row.number
        sku, weight = v["sku"], v["unit_weight_g"]
        if sku in weights and not math.isclose(weights[sku][0], weight, rel_tol=1e-9):
            first, at = weights[sku]
            r.issue(
                "lanes",
                row.number,
                "unit_weight_g",
                f"SKU {sku!r} weighs {first:g} g at row {at}, not {weight:g} g",
            )
            continue
        weights.setdefault(sku, (weight, row.number))
        if v.get("zone") and v["zone"] not in zone_names:
            r.issue("lanes", row.number, "zone", f"zone {v['zone']!r} is not a zone of the zones section")
            continue
        location = v.get("location") or v["device"]
        group = groups.setdefault((sku, location), {})
        clash = False
        for name in _LOCATION_FIELDS:
            if name in v:
                if name in group and group[name][0] != v[name]:
                    r.issue(
                        "lanes",
                        row.number,
                        name,
                        f"location {location!r} of {sku!r} has {name} {group[name][0]!r} at row {group[name][1]}",
                    )
                    clash = True
                group.setdefault(name, (v[name], row.number))
        if clash:
            continue
        out.append(
            LanePlan(
                v["device"],
                v["lane"],
                sku,
                weight,
                v["capacity"],
                v.get("tare_g", 0.0),
                location,
                v.get("min"),
                v.get("target"),
                v.get("safety_stock"),
                v.get("aisle", ""),
                v.get("shelf", ""),
                v.get("zone", ""),
                row.number,
            )
        )
    for (sku, location), group in groups.items():
        low = group.get("min", (0.0, 0))[0]
        capacity = sum(x.capacity for x in out if x.sku == sku and x.location == location)
        target, at = group.get("target", (float(capacity), 0))
        if target < low:
            r.issue(
                "lanes",
                at or group["min"][1],
                "target",
                f"target ({target:g}) of location {location!r} is below its min ({low:g})",
            )
        safety = group.get("safety_stock", (0.0, 0))[0]
        if safety > low:
            r.issue(
                "lanes",
                group["safety_stock"][1],
                "safety_stock",
                f"safety_stock ({safety:g}) exceeds min ({low:g})",
            )
    for dev in devices.values():
        if (
            dev.kind == "shelf"
            and not any(x.device == dev.device for x in out)
            and not any(k[0] == dev.device for k in seen)
        ):
            r.issue("devices", dev.row, "device", f"shelf {dev.device!r} has no lane in the lanes section")
    return out


def _assets(r: Reader, devices: dict[str, DevicePlan]) -> list[AssetPlan]:
    out: list[AssetPlan] = []
    ids: dict[str, int] = {}
    sensors: dict[str, int] = {}
    for row in r.rows.get("assets", []):
        v = row.values
        if "asset" not in v:
            continue
        if v["asset"] in ids:
            r.issue(
                "assets",
                row.number,
                "asset",
                f"duplicate asset {v['asset']!r} (first at row {ids[v['asset']]})",
            )
            continue
        ids[v["asset"]] = row.number
        sensor = v.get("sensor", "")
        if sensor:
            dev = devices.get(sensor)
            if dev is None or dev.kind != "condition":
                what = (
                    "not in the devices section"
                    if dev is None
                    else f"a {dev.kind} device, not a condition sensor"
                )
                r.issue("assets", row.number, "sensor", f"sensor {sensor!r} is {what}")
                continue
            if sensor in sensors:
                r.issue(
                    "assets",
                    row.number,
                    "sensor",
                    f"sensor {sensor!r} already watches the asset at row {sensors[sensor]}",
                )
                continue
            sensors[sensor] = row.number
        parts = {k: v[k] for k in ("bearing_balls", "bearing_ball_d_mm", "bearing_pitch_d_mm") if k in v}
        bearing = None
        if parts or "bearing_contact_deg" in v:
            missing = sorted({"bearing_balls", "bearing_ball_d_mm", "bearing_pitch_d_mm"} - set(parts))
            if missing:
                r.issue(
                    "assets", row.number, missing[0], f"the bearing's geometry needs {', '.join(missing)} too"
                )
                continue
            if parts["bearing_ball_d_mm"] >= parts["bearing_pitch_d_mm"]:
                r.issue("assets", row.number, "bearing_ball_d_mm", "must be smaller than bearing_pitch_d_mm")
                continue
            bearing = Bearing(
                int(parts["bearing_balls"]),
                parts["bearing_ball_d_mm"],
                parts["bearing_pitch_d_mm"],
                v.get("bearing_contact_deg", 0.0),
            )
        tuning = [k for k in ("machine_class", "rpm", "temp_limit_c") if k in v] + (
            ["bearing_balls"] if bearing else []
        )
        if tuning and not sensor:
            r.issue(
                "assets", row.number, tuning[0], "configures a condition sensor: name it in the sensor column"
            )
            continue
        out.append(
            AssetPlan(
                v["asset"],
                v.get("name", ""),
                v.get("kind", ""),
                sensor,
                v.get("machine_class", ""),
                v.get("rpm"),
                bearing,
                v.get("temp_limit_c"),
                row.number,
            )
        )
    return out
