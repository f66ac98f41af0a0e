"""The BOH (back-of-house) core: SQL state of sites, devices, stock, alerts, work orders,
replenishment proposals and the audit trail, fed by ingest through ``apply_batches``.

Errors are drawn in ``_errors``; lifecycles are tables in ``_lifecycle``; rules sit behind
the seam in ``rules``.
"""

from ._commands import CommandRecord
from ._core import BohCore
from ._errors import BohError, CatalogError, InvalidTransition, NotFound
from ._lifecycle import ALERT, PROPOSAL, WORK_ORDER, Lifecycle
from ._reapply import ReapplyResult
from ._records import (
    AlertRecord,
    AuditRecord,
    CatalogSummary,
    DeviceRecord,
    GatewayRecord,
    ProposalRecord,
    QuarantineRecord,
    StockLevelRecord,
    WorkOrderRecord,
)

__all__ = [
    "ALERT",
    "PROPOSAL",
    "WORK_ORDER",
    "AlertRecord",
    "AuditRecord",
    "BohCore",
    "BohError",
    "CatalogError",
    "CatalogSummary",
    "CommandRecord",
    "DeviceRecord",
    "GatewayRecord",
    "InvalidTransition",
    "Lifecycle",
    "NotFound",
    "ProposalRecord",
    "QuarantineRecord",
    "ReapplyResult",
    "StockLevelRecord",
    "WorkOrderRecord",
]
