"""Rules that turn readings into BOH decisions, behind a small seam (see ``_base``)."""

from ._base import (
    ConditionCleared,
    ConditionEngine,
    ConditionEvent,
    ConditionFault,
    ConditionParams,
    ConditionState,
    ProposalDraft,
    StockEngine,
    StockInputs,
)
from ._condition import ThresholdCondition
from ._stock import ReorderPoint

__all__ = [
    "ConditionCleared",
    "ConditionEngine",
    "ConditionEvent",
    "ConditionFault",
    "ConditionParams",
    "ConditionState",
    "ProposalDraft",
    "ReorderPoint",
    "StockEngine",
    "StockInputs",
    "ThresholdCondition",
]
