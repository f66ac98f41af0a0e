"""What a catalog entry says: the typed input of the catalog operations (``_catalog_ops``).

The file loader (``_catalog``) and the HTTP API build these; the operations validate what
depends on the rest of the catalog (a known site, limits that make sense) and apply them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AssetSpec",
    "GatewaySpec",
    "LaneSpec",
    "LocationSpec",
    "MaintenanceSpec",
    "RuleSpec",
    "SiteSpec",
    "SkuSpec",
    "ZoneSpec",
]

#: the kinds of zone a site has: a ``door`` is where an item leaves the store
ZONE_KINDS = ("floor", "backroom", "door")


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    """A zone where RFID readers place items (``ItemPresence.zone``) and its kind."""

    zone: str
    kind: str = "floor"  # one of ZONE_KINDS


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """A site with its RFID zones (the complete set: zones not listed are retired)."""

    id: str
    name: str = ""
    zones: tuple[ZoneSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class GatewaySpec:
    id: str
    site: str


@dataclass(frozen=True, slots=True)
class SkuSpec:
    sku: str
    name: str = ""
    unit: str = "unit"
    pack_size: int = 1
    gtin: str = ""  # GTIN-14 with its check digit, or "" for none


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """``metric`` above ``limit`` for ``min_duration_s`` is a fault; it clears below ``clear_below``
    (default: ``limit``) for as long."""

    condition: str
    metric: str
    limit: float
    clear_below: float | None = None
    min_duration_s: float = 0.0
    severity: str = "warning"
    what_to_check: str = ""
    #: "threshold", or "detector": the model file ``model`` on the feature ``metrics``
    #: (``limit`` / ``clear_below`` then override the model's score thresholds, 0: the model's)
    engine: str = "threshold"
    metrics: tuple[str, ...] = ()
    model: str = ""


@dataclass(frozen=True, slots=True)
class MaintenanceSpec:
    """Recommended checks and spare parts for an asset ``kind`` and ``fault`` type ("": any)."""

    kind: str = ""
    fault: str = ""
    checks: tuple[str, ...] = ()
    spare_parts: tuple[tuple[str, float], ...] = ()  # (part, quantity)


@dataclass(frozen=True, slots=True)
class AssetSpec:
    """An asset with its rules (the complete set: rules not listed are retired) and, optionally,
    the condition sensor that feeds them (``gateway`` + ``device``)."""

    id: str
    site: str
    name: str = ""
    kind: str = ""
    gateway: str | None = None
    device: str | None = None
    rules: tuple[RuleSpec, ...] = ()
    #: who is told of its alerts, in escalation order (None: left as it is)
    recipients: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class LaneSpec:
    gateway: str
    device: str  # ``<device id>.lane-<n>``


@dataclass(frozen=True, slots=True)
class LocationSpec:
    """A SKU at one place of a site, with its lanes (the complete set: lanes not listed are
    retired) and replenishment parameters in units."""

    site: str
    sku: str
    location: str
    min: float
    target: float
    safety_stock: float = 0.0
    lanes: tuple[LaneSpec, ...] = ()
    #: where it is in the store ("" when not given): the rows of the out-of-stock heat map
    aisle: str = ""
    shelf: str = ""
    #: the site's RFID zone that covers it (tagged items of its SKU there are its RFID count)
    zone: str = ""
