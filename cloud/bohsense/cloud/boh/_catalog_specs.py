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
    "RuleSpec",
    "SiteSpec",
    "SkuSpec",
]


@dataclass(frozen=True, slots=True)
class SiteSpec:
    id: str
    name: str = ""


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
