"""What BOH queries return: frozen snapshots, detached from the database session."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, TypeVar, cast

__all__ = [
    "AlertRecord",
    "Attachment",
    "AuditRecord",
    "CatalogMapping",
    "CatalogSummary",
    "DeviceRecord",
    "GatewayRecord",
    "LabourEntry",
    "PartUse",
    "ProposalRecord",
    "QuarantineRecord",
    "StockLevelRecord",
    "UnmatchedDevice",
    "WorkOrderChanges",
    "WorkOrderRecord",
    "record_from",
]

R = TypeVar("R")


@cache
def _names(cls: Any) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def record_from(cls: type[R], row: Any) -> R:
    """A ``cls`` record of ``row`` (an ORM object or a result row), field by name: a
    column added to a table and to its record needs no mapper. JSON values are copied, so
    the record is detached from the row."""
    get = row._mapping.__getitem__ if hasattr(row, "_mapping") else row.__getattribute__
    values = {}
    for name in _names(cast(Any, cls)):
        v = get(name)
        values[name] = dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v
    return cls(**values)


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
    registration: str  # catalog / auto / pending
    claimed_site: str  # the site its own messages name
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
    #: raised each time the alert is escalated (left unacknowledged too long)
    escalation_level: int = 0
    #: times the fault was confirmed (recurrences count here, not as new alerts)
    occurrences: int = 1
    last_occurrence_ns: int | None = None
    #: times a recurrence within the reopen window reopened it
    reopened: int = 0
    resolved_ns: int | None = None
    #: the condition rule that raised it (None: a local alarm or a silence alert)
    rule_id: int | None = None
    #: ``<model>@<version>`` of the detector, or the rule engine, that decided
    model: str = ""
    #: who is told, in escalation order
    recipients: list[str] = field(default_factory=list)


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
    note: str  # the newest note (all of them are in ``notes``)
    priority: str
    assignee: str
    due_ns: int | None
    parts: list[dict[str, Any]]  # PartUse as dicts, in the order recorded
    labour: list[dict[str, Any]]  # LabourEntry as dicts
    resolution_code: str
    root_cause: str
    notes: list[dict[str, Any]]  # {"at_ns", "actor", "text"}
    attachments: list[dict[str, Any]]  # Attachment as dicts (references, not the files)
    #: the fault's evidence: decision, diagnosis, envelope features, feature trend
    evidence: dict[str, Any] = field(default_factory=dict)
    #: recommended checks and spare parts (the catalog's maintenance guides)
    checks: list[str] = field(default_factory=list)
    spare_parts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PartUse:
    part: str
    quantity: float
    unit: str = "each"
    note: str = ""


@dataclass(frozen=True, slots=True)
class LabourEntry:
    technician: str
    hours: float
    note: str = ""
    at_ns: int | None = None  # when the work was done (default: when recorded)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file kept elsewhere (object store, document system), by reference."""

    uri: str
    name: str = ""
    media_type: str = ""


@dataclass(frozen=True, slots=True)
class WorkOrderChanges:
    """What a technician or planner changes on a work order: None / empty leaves a field as is;
    ``add_*`` and ``note`` are appended to what is there (a work order keeps its history)."""

    title: str | None = None
    description: str | None = None
    priority: str | None = None
    assignee: str | None = None
    due_ns: int | None = None
    clear_due: bool = False
    resolution_code: str | None = None
    root_cause: str | None = None
    add_parts: tuple[PartUse, ...] = ()
    add_labour: tuple[LabourEntry, ...] = ()
    add_attachments: tuple[Attachment, ...] = ()
    note: str = ""


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
    quantity_source: str  # "rule" (follows falling stock until approved) or "planner"
    priority: str  # "normal", or "urgent" below the safety stock
    flags: list[Any]  # [{"flag": ..., "reason": ...}]: what looks abnormal against history
    approval: str  # "auto", "human", or "" before approval
    received_units: int
    revision: int  # 0 when opened, +1 at each re-size by the stock rule


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
    #: the domain event's kind (``alert.opened``, …; see ``_domain_events.KINDS``)
    kind: str = ""


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
class UnmatchedDevice:
    """A device the catalog names that no gateway has reported (yet): a typo, or not installed."""

    gateway: str
    device: str
    kind: str  # lane / asset
    asset_id: str | None
    site: str | None  # the lane's stock location
    sku: str | None
    location: str | None
    #: unmapped devices of the same gateway that report the same lane number
    candidates: list[str]


@dataclass(frozen=True, slots=True)
class CatalogMapping:
    unmatched: list[UnmatchedDevice]
    unmapped: list[DeviceRecord]


@dataclass(frozen=True, slots=True)
class CatalogSummary:
    sites: int
    gateways: int
    skus: int
    assets: int
    rules: int
    locations: int
    lanes: int
    retired: int = 0  # active entries the catalog no longer lists, retired by this load
