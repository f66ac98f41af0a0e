"""Rules that turn readings into BOH decisions, behind a small seam (see ``_base``)."""

from ._base import (
    SEVERITIES,
    ConditionCleared,
    ConditionEngine,
    ConditionEvent,
    ConditionFault,
    ConditionParams,
    ConditionState,
    Decision,
    FaultCleared,
    FaultConfirmed,
    PlanParams,
    ProposalDraft,
    ReplenishmentNeeded,
    StockEngine,
    StockInputs,
    severity_rank,
)
from ._condition import ThresholdCondition
from ._detector import (
    AnomalyCleared,
    AnomalyDetected,
    DetectorCondition,
    DetectorModel,
    ModelError,
    ModelRegistry,
    effective,
)
from ._planned import PlannedReorder
from ._stock import ReorderPoint

__all__ = [
    "SEVERITIES",
    "AnomalyCleared",
    "AnomalyDetected",
    "ConditionCleared",
    "ConditionEngine",
    "ConditionEvent",
    "ConditionFault",
    "ConditionParams",
    "ConditionState",
    "Decision",
    "DetectorCondition",
    "DetectorModel",
    "FaultCleared",
    "FaultConfirmed",
    "ModelError",
    "ModelRegistry",
    "PlanParams",
    "PlannedReorder",
    "ProposalDraft",
    "ReorderPoint",
    "ReplenishmentNeeded",
    "StockEngine",
    "StockInputs",
    "ThresholdCondition",
    "effective",
    "severity_rank",
]
