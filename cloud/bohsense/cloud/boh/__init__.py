"""The BOH (back-of-house) core: SQL state of sites, devices, stock, alerts, work orders,
replenishment proposals and the audit trail (typed domain events, read on with ``changes``),
fed by ingest through ``apply_batches``.

Errors are drawn in ``_errors``; lifecycles are tables in ``_lifecycle``; rules sit behind
the seam in ``rules``.
"""

from ._alerts import AlertPolicy
from ._catalog_ops import CatalogOps, Change
from ._catalog_read import (
    AssetRecord,
    LaneRecord,
    LocationRecord,
    RuleRecord,
    SiteRecord,
    SkuRecord,
    ZoneRecord,
)
from ._catalog_specs import (
    ZONE_KINDS,
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
from ._commands import CommandRecord
from ._core import BohCore
from ._errors import BohError, CatalogError, InvalidTransition, InvalidValue, NotFound, StateConflict
from ._events_read import EventRecord
from ._handlers import AlarmReported, EventContext, EventHandlers, Handler, HandlerFailed, default_handlers
from ._lifecycle import ALERT, PROPOSAL, WORK_ORDER, Lifecycle
from ._notices import AlertFilter, FaultLabelRecord, NoticeRecord
from ._reapply import ReapplyResult
from ._records import (
    AlertRecord,
    Attachment,
    AuditRecord,
    CatalogMapping,
    CatalogSummary,
    DeviceRecord,
    GatewayRecord,
    LabourEntry,
    PartUse,
    ProposalRecord,
    QuarantineRecord,
    StockLevelRecord,
    UnmatchedDevice,
    WorkOrderChanges,
    WorkOrderRecord,
)
from ._work_orders import PRIORITIES, SEVERITY_PRIORITY
from .rules import DetectorModel, ModelError, ModelRegistry

__all__ = [
    "ALERT",
    "PRIORITIES",
    "PROPOSAL",
    "SEVERITY_PRIORITY",
    "WORK_ORDER",
    "ZONE_KINDS",
    "AlarmReported",
    "AlertFilter",
    "AlertPolicy",
    "AlertRecord",
    "AssetRecord",
    "AssetSpec",
    "Attachment",
    "AuditRecord",
    "BohCore",
    "BohError",
    "CatalogError",
    "CatalogMapping",
    "CatalogOps",
    "CatalogSummary",
    "Change",
    "CommandRecord",
    "DetectorModel",
    "DeviceRecord",
    "EventContext",
    "EventHandlers",
    "EventRecord",
    "FaultLabelRecord",
    "GatewayRecord",
    "GatewaySpec",
    "Handler",
    "HandlerFailed",
    "InvalidTransition",
    "InvalidValue",
    "LabourEntry",
    "LaneRecord",
    "LaneSpec",
    "Lifecycle",
    "LocationRecord",
    "LocationSpec",
    "MaintenanceSpec",
    "ModelError",
    "ModelRegistry",
    "NotFound",
    "NoticeRecord",
    "PartUse",
    "ProposalRecord",
    "QuarantineRecord",
    "ReapplyResult",
    "RuleRecord",
    "RuleSpec",
    "SiteRecord",
    "SiteSpec",
    "SkuRecord",
    "SkuSpec",
    "StateConflict",
    "StockLevelRecord",
    "UnmatchedDevice",
    "WorkOrderChanges",
    "WorkOrderRecord",
    "ZoneRecord",
    "ZoneSpec",
    "default_handlers",
]
