"""The store plan: what the hand-over sheet says, typed and checked (``parse_plan``).

Every problem is collected as an ``Issue`` (sheet, row, column, what is wrong) and raised
together as ``SheetInvalid``: unknown sections and columns, missing required ones, a cell
of the wrong type or out of range, duplicate ids, references to devices, readers or SKUs
the sheet does not declare, values that disagree within one location. ``check_skus``
adds the one check that needs the catalog (a lane's SKU in neither the sheet nor the
catalog). A plan is plain data (``to_dict`` / ``from_dict``): it is kept with the import
event and the checklist is computed against it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from bohsense.contracts.broker import BrokerUrlError, parse_broker_url
from bohsense.contracts.epc import EpcError, gtin_check_digit
from bohsense.contracts.topics import TopicError, validate_gateway_id

from ._errors import Issue, SheetInvalid
from ._schema import SECTIONS, Column, Section, section
from ._sheet import RawSection, column_letter

__all__ = [
    "AssetPlan",
    "Bearing",
    "DevicePlan",
    "GatewayPlan",
    "LanePlan",
    "SitePlan",
    "SkuPlan",
    "StorePlan",
    "ZonePlan",
    "check_skus",
    "parse_plan",
]

#: a device id: what the gateway accepts as a device's name (and what readings carry)
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
DEFAULT_OUTBOX = "/var/lib/bohsense-edge/outbox.sqlite3"


@dataclass(frozen=True, slots=True)
class SitePlan:
    id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class GatewayPlan:
    id: str
    broker_url: str
    tls_ca: str = ""
    outbox_path: str = DEFAULT_OUTBOX


@dataclass(frozen=True, slots=True)
class DevicePlan:
    device: str
    kind: str  # shelf / condition / rfid
    port: str = ""
    baudrate: int | None = None
    host: str = ""
    llrp_port: int | None = None
    row: int = 0


@dataclass(frozen=True, slots=True)
class ZonePlan:
    reader: str
    antenna: int
    zone: str
    zone_kind: str = "floor"
    row: int = 0


@dataclass(frozen=True, slots=True)
class SkuPlan:
    sku: str
    name: str = ""
    unit: str = "unit"
    pack_size: int = 1
    gtin: str = ""
    row: int = 0


@dataclass(frozen=True, slots=True)
class LanePlan:
    device: str
    lane: int
    sku: str
    unit_weight_g: float
    capacity: int
    tare_g: float = 0.0
    location: str = ""
    min: float | None = None
    target: float | None = None
    safety_stock: float | None = None
    aisle: str = ""
    shelf: str = ""
    zone: str = ""
    row: int = 0

    @property
    def lane_device(self) -> str:
        """The device its readings carry (``bohsense.contracts.devices.lane_device``)."""
        return f"{self.device}.lane-{self.lane}"


@dataclass(frozen=True, slots=True)
class Bearing:
    balls: int
    ball_d: float
    pitch_d: float
    contact_deg: float = 0.0


@dataclass(frozen=True, slots=True)
class AssetPlan:
    asset: str
    name: str = ""
    kind: str = ""
    sensor: str = ""
    machine_class: str = ""
    rpm: float | None = None
    bearing: Bearing | None = None
    temp_limit_c: float | None = None
    row: int = 0


@dataclass(frozen=True, slots=True)
class StorePlan:
    site: SitePlan
    gateway: GatewayPlan
    devices: tuple[DevicePlan, ...] = ()
    zones: tuple[ZonePlan, ...] = ()
    skus: tuple[SkuPlan, ...] = ()
    lanes: tuple[LanePlan, ...] = ()
    assets: tuple[AssetPlan, ...] = ()
    #: the file it came from (name only) and its SHA-256
    source: dict[str, str] = field(default_factory=dict)

    def device(self, device_id: str) -> DevicePlan | None:
        return next((d for d in self.devices if d.device == device_id), None)

    def lanes_of(self, device_id: str) -> list[LanePlan]:
        return sorted((x for x in self.lanes if x.device == device_id), key=lambda x: x.lane)

    def zones_of(self, reader: str) -> list[ZonePlan]:
        return sorted((z for z in self.zones if z.reader == reader), key=lambda z: z.antenna)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StorePlan:
        def assets() -> Iterable[AssetPlan]:
            for a in data.get("assets", []):
                a = dict(a)
                bearing = a.pop("bearing", None)
                yield AssetPlan(**a, bearing=Bearing(**bearing) if bearing else None)

        return cls(
            site=SitePlan(**data["site"]),
            gateway=GatewayPlan(**data["gateway"]),
            devices=tuple(DevicePlan(**d) for d in data.get("devices", [])),
            zones=tuple(ZonePlan(**z) for z in data.get("zones", [])),
            skus=tuple(SkuPlan(**s) for s in data.get("skus", [])),
            lanes=tuple(LanePlan(**x) for x in data.get("lanes", [])),
            assets=tuple(assets()),
            source=dict(data.get("source", {})),
        )


# -- cells -----------------------------------------------------------------------------------


class _Bad(ValueError):
    pass


def _text(value: Any) -> str:
    if isinstance(value, bool):
        raise _Bad(f"must be text, not {value!r}")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id typed as a number: 12345, not 12345.0
    if isinstance(value, int | float | str):
        return str(value).strip()
    raise _Bad(f"must be text, not {type(value).__name__} {value!r}")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Bad(f"must be a whole number, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value.strip())
    raise _Bad(f"must be a whole number, not {value!r}")


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Bad(f"must be a number, not {value!r}")
    if isinstance(value, int | float):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise _Bad(f"must be a number, not {value!r}") from None
    else:
        raise _Bad(f"must be a number, not {type(value).__name__} {value!r}")
    if not math.isfinite(out):
        raise _Bad(f"must be a finite number, not {value!r}")
    return out


def _cell(col: Column, value: Any) -> Any:
    if col.kind in ("int", "float"):
        number: float = _int(value) if col.kind == "int" else _float(value)
        if col.low is not None and number < col.low:
            raise _Bad(f"must be at least {col.low:g}, not {number:g}")
        if col.above is not None and number <= col.above:
            raise _Bad(f"must be more than {col.above:g}, not {number:g}")
        if col.high is not None and number > col.high:
            raise _Bad(f"must be at most {col.high:g}, not {number:g}")
        return number
    text = _text(value)
    if len(text) > col.max_length:
        raise _Bad(f"is longer than {col.max_length} characters")
    if "\x00" in text:
        raise _Bad("holds a NUL character")
    if col.kind == "id" and not _DEVICE_ID.match(text):
        raise _Bad(f"{text!r} is not an id (letters, digits and _ . : - , starting with a letter or digit)")
    if col.kind == "choice":
        if text.lower() not in col.choices:
            raise _Bad(f"{text!r} is not one of {', '.join(col.choices)}")
        return text.lower()
    return text


@dataclass
class _Row:
    number: int
    values: dict[str, Any]


class _Reader:
    """Turns raw sections into typed rows, collecting every issue."""

    def __init__(self, raw: list[RawSection]) -> None:
        self.issues: list[Issue] = []
        self.rows: dict[str, list[_Row]] = {}
        self.letters: dict[tuple[str, str], str] = {}
        seen: dict[str, int] = {}
        for sec in raw:
            spec = section(sec.name)
            if spec is None:
                known = ", ".join(s.name for s in SECTIONS)
                self.issue(
                    sec.name, sec.header_row, None, f"unknown sheet/section {sec.name!r} (known: {known})"
                )
                continue
            if sec.name in seen:
                self.issue(
                    sec.name,
                    sec.header_row,
                    None,
                    f"the section is given twice (first at row {seen[sec.name]})",
                )
                continue
            seen[sec.name] = sec.header_row
            self.rows[sec.name] = self._section(spec, sec)
        for spec in SECTIONS:
            if spec.required and spec.name not in seen:
                self.issue(spec.name, None, None, "this section is required and missing")
            elif spec.single and spec.name in self.rows and len(self.rows[spec.name]) != 1:
                n = len(self.rows[spec.name])
                self.issue(spec.name, None, None, f"must have exactly one row, has {n}")

    def issue(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        letter = self.letters.get((sheet, column)) if column else None
        self.issues.append(Issue(sheet, row, column, message, letter))

    def _section(self, spec: Section, sec: RawSection) -> list[_Row]:
        index: dict[str, int] = {}
        for i, name in enumerate(sec.header):
            letter = column_letter(i)
            if not name:
                if any(i < len(cells) and cells[i] is not None for _, cells in sec.rows):
                    self.issues.append(
                        Issue(spec.name, sec.header_row, None, f"column {letter} has values but no header")
                    )
                continue
            if spec.column(name) is None:
                known = ", ".join(c.name for c in spec.columns)
                self.issues.append(
                    Issue(
                        spec.name, sec.header_row, name, f"unknown column {name!r} (known: {known})", letter
                    )
                )
                continue
            if name in index:
                self.issues.append(
                    Issue(spec.name, sec.header_row, name, "the column is given twice", letter)
                )
                continue
            index[name] = i
            self.letters[(spec.name, name)] = letter
        for col in spec.columns:
            if col.required and col.name not in index:
                self.issue(spec.name, sec.header_row, col.name, "this column is required and missing")
        out = []
        for number, cells in sec.rows:
            values: dict[str, Any] = {}
            extra = [column_letter(i) for i, v in enumerate(cells) if v is not None and i >= len(sec.header)]
            if extra:
                self.issue(
                    spec.name, number, None, f"values beyond the header in column(s) {', '.join(extra)}"
                )
            for name, i in index.items():
                cell_col = spec.column(name)
                assert cell_col is not None
                raw = cells[i] if i < len(cells) else None
                if raw is None:
                    if cell_col.required:
                        self.issue(spec.name, number, name, "is required and empty")
                    continue
                try:
                    values[name] = _cell(cell_col, raw)
                except _Bad as exc:
                    self.issue(spec.name, number, name, str(exc))
            out.append(_Row(number, values))
        return out


# -- the plan ------------------------------------------------------------------------------


def parse_plan(raw: list[RawSection], *, source: dict[str, str] | None = None) -> StorePlan:
    """The plan of the raw sections, or ``SheetInvalid`` listing every issue."""
    r = _Reader(raw)
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


def _one(r: _Reader, name: str) -> _Row | None:
    rows = r.rows.get(name, [])
    return rows[0] if len(rows) == 1 else None


def _site(r: _Reader) -> SitePlan | None:
    row = _one(r, "site")
    if row is None or "site" not in row.values:
        return None
    return SitePlan(row.values["site"], row.values.get("name", ""))


def _gateway(r: _Reader) -> GatewayPlan | None:
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


def _devices(r: _Reader) -> dict[str, DevicePlan]:
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


def _zones(r: _Reader, devices: dict[str, DevicePlan]) -> list[ZonePlan]:
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


def _skus(r: _Reader) -> dict[str, SkuPlan]:
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
    r: _Reader, devices: dict[str, DevicePlan], zones: list[ZonePlan], skus: dict[str, SkuPlan]
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


def _assets(r: _Reader, devices: dict[str, DevicePlan]) -> list[AssetPlan]:
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
