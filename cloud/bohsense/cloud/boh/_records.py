"""What BOH queries return: frozen snapshots, detached from the database session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "AlertRecord",
    "AuditRecord",
    "CatalogSummary",
    "DeviceRecord",
    "GatewayRecord",
    "ProposalRecord",
    "QuarantineRecord",
    "StockLevelRecord",
    "WorkOrderRecord",
]


@dataclass(frozen=True, slots=True)
class GatewayRecord:
    id: str
    site: str
    state: str
    last_status_ns: int | None
    version: str
    dropped: int
    next_seq: int
    outbox_depth: int
    watermark: int
    #: readings dropped after sending (the broker had them): in doubt, not known lost
    dropped_in_doubt: int = 0


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    gateway: str
    device: str
    kind: str
    asset_id: str | None
    lane_id: int | None
    first_seen_ns: int | None
    last_seen_ns: int | None


@dataclass(frozen=True, slots=True)
class StockLevelRecord:
    site: str
    sku: str
    location: str
    units: float | None  # None until a lane sensor has reported
    as_of_ns: int | None
    reorder_point: float
    target: float
    safety_stock: float
    below_reorder_point: bool


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: int
    asset_id: str | None
    site: str
    condition: str
    severity: str
    state: str
    opened_ns: int
    updated_ns: int
    cleared_ns: int | None
    evidence: dict[str, Any]
    what_to_check: str
    subject: str = ""


@dataclass(frozen=True, slots=True)
class WorkOrderRecord:
    id: int
    alert_id: int | None
    asset_id: str
    site: str
    kind: str
    title: str
    description: str
    state: str
    created_ns: int
    updated_ns: int
    note: str


@dataclass(frozen=True, slots=True)
class ProposalRecord:
    id: int
    site: str
    sku: str
    location: str
    state: str
    sensed_units: float
    reorder_point: float
    target: float
    safety_stock: float
    pack_size: int
    quantity: int
    explanation: dict[str, Any]
    created_ns: int
    updated_ns: int


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    entity: str
    entity_id: str
    from_state: str | None
    to_state: str
    actor: str
    at_ns: int
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """One quarantine item without its payload (``BohCore.quarantine_payload`` has the bytes)."""

    id: int
    topic: str
    gateway: str
    reason: str
    detail: str
    received_ns: int
    payload_size: int  # of the payload as it came
    payload_stored: int  # bytes kept: the whole payload, or its first bytes when it was large
    payload_sha256: str  # of the payload as it came
    payload_preview: bytes  # its first bytes, for a person


@dataclass(frozen=True, slots=True)
class CatalogSummary:
    sites: int
    gateways: int
    skus: int
    assets: int
    rules: int
    locations: int
    lanes: int
