"""The BOH (back-of-house) core: SQL state of sites, devices, stock, alerts, work orders,
replenishment proposals and the audit trail, fed by ingest through ``apply_batches``.

Errors are drawn in ``_errors``; lifecycles are tables in ``_lifecycle``; rules sit behind
the seam in ``rules``.
"""

from ._commands import CommandRecord
from ._core import BohCore
from ._errors import BohError, CatalogError, InvalidTransition, InvalidValue, NotFound, StateConflict
from ._lifecycle import ALERT, PROPOSAL, WORK_ORDER, Lifecycle
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

__all__ = [
    "ALERT",
    "PRIORITIES",
    "PROPOSAL",
    "SEVERITY_PRIORITY",
    "WORK_ORDER",
    "AlertRecord",
    "Attachment",
    "AuditRecord",
    "BohCore",
    "BohError",
    "CatalogError",
    "CatalogMapping",
    "CatalogSummary",
    "CommandRecord",
    "DeviceRecord",
    "GatewayRecord",
    "InvalidTransition",
    "InvalidValue",
    "LabourEntry",
    "Lifecycle",
    "NotFound",
    "PartUse",
    "ProposalRecord",
    "QuarantineRecord",
    "StateConflict",
    "StockLevelRecord",
    "UnmatchedDevice",
    "WorkOrderChanges",
    "WorkOrderRecord",
]
