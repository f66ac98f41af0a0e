"""The BOH (back-of-house) core: SQL state of sites, devices, stock, alerts, work orders,
replenishment proposals and the audit trail (typed domain events, read on with ``changes``),
fed by ingest through ``apply_batches``.

Errors are drawn in ``_errors``; lifecycles are tables in ``_lifecycle``; rules sit behind
the seam in ``rules``.
"""

from ._alerts import AlertPolicy
from ._asset_health import AssetHealth, Spectrum
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
from ._fleet_kpis import StoreKpis
from ._handlers import AlarmReported, EventContext, EventHandlers, Handler, HandlerFailed, default_handlers
from ._ledger import KINDS as LEDGER_KINDS
from ._ledger import MAX_LINES as POS_MAX_LINES
from ._ledger import LedgerRecord, PosBatch, PosLine, PosTransactionIn, TransactionResult
from ._lifecycle import ALERT, PROPOSAL, WORK_ORDER, Lifecycle
from ._notices import AlertFilter, FaultLabelRecord, NoticeRecord
from ._planning import PlanInput, plan_from_history
from ._proposals import ApprovalLimit, ApprovalPolicy, FlagPolicy, ProposalPolicy, ReceiptOutcome
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
from ._stock_read import HeatCellRecord, LaneSenseRecord, OutageRecord, SensedStockRecord
from ._stock_truth import StockSettings
from ._webhooks import (
    DeliveryRecord,
    DeliveryRun,
    WebhookConfig,
    WebhookEndpoint,
    enqueue_webhook,
    sign,
    verify,
)
from ._work_orders import PRIORITIES, SEVERITY_PRIORITY
from .rules import DetectorModel, ModelError, ModelRegistry

__all__ = [
    "ALERT",
    "LEDGER_KINDS",
    "POS_MAX_LINES",
    "PRIORITIES",
    "PROPOSAL",
    "SEVERITY_PRIORITY",
    "WORK_ORDER",
    "ZONE_KINDS",
    "AlarmReported",
    "AlertFilter",
    "AlertPolicy",
    "AlertRecord",
    "ApprovalLimit",
    "ApprovalPolicy",
    "AssetHealth",
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
    "DeliveryRecord",
    "DeliveryRun",
    "DetectorModel",
    "DeviceRecord",
    "EventContext",
    "EventHandlers",
    "EventRecord",
    "FaultLabelRecord",
    "FlagPolicy",
    "GatewayRecord",
    "GatewaySpec",
    "Handler",
    "HandlerFailed",
    "HeatCellRecord",
    "InvalidTransition",
    "InvalidValue",
    "LabourEntry",
    "LaneRecord",
    "LaneSenseRecord",
    "LaneSpec",
    "LedgerRecord",
    "Lifecycle",
    "LocationRecord",
    "LocationSpec",
    "MaintenanceSpec",
    "ModelError",
    "ModelRegistry",
    "NotFound",
    "NoticeRecord",
    "OutageRecord",
    "PartUse",
    "PlanInput",
    "PosBatch",
    "PosLine",
    "PosTransactionIn",
    "ProposalPolicy",
    "ProposalRecord",
    "QuarantineRecord",
    "ReapplyResult",
    "ReceiptOutcome",
    "RuleRecord",
    "RuleSpec",
    "SensedStockRecord",
    "SiteRecord",
    "SiteSpec",
    "SkuRecord",
    "SkuSpec",
    "Spectrum",
    "StateConflict",
    "StockLevelRecord",
    "StockSettings",
    "StoreKpis",
    "TransactionResult",
    "UnmatchedDevice",
    "WebhookConfig",
    "WebhookEndpoint",
    "WorkOrderChanges",
    "WorkOrderRecord",
    "ZoneRecord",
    "ZoneSpec",
    "default_handlers",
    "enqueue_webhook",
    "plan_from_history",
    "sign",
    "verify",
]
