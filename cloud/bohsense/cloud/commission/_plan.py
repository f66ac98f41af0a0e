"""The store plan: what the hand-over sheet says, typed (``_parse`` reads and checks it).

A plan is plain data (``to_dict`` / ``from_dict``): it is kept with the import event and
the checklist is computed against it. Each entry keeps the sheet row it came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

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
]

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
