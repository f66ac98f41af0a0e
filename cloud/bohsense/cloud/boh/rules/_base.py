"""The rule seam: what the BOH core asks of a condition engine and a stock engine.

Engines are pure: state and readings in, new state and decisions out; the core does all
the database work (loading and saving state, opening alerts, work orders and proposals
atomically). Later engines (anomaly detectors, forecasts) replace the simple ones here
by implementing the same two protocols.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "ConditionCleared",
    "ConditionEngine",
    "ConditionEvent",
    "ConditionFault",
    "ConditionParams",
    "ConditionState",
    "ProposalDraft",
    "StockEngine",
    "StockInputs",
]


@dataclass(frozen=True, slots=True)
class ConditionParams:
    """One condition of one asset: ``metric`` over ``limit`` for ``min_duration_s`` is a fault;
    it clears once ``metric`` stays below ``clear_below`` for ``min_duration_s``."""

    asset_id: str
    condition: str
    metric: str
    limit: float
    clear_below: float
    min_duration_s: float
    severity: str = "warning"
    what_to_check: str = ""


@dataclass(frozen=True, slots=True)
class ConditionState:
    """``phase``: normal → over (above limit, not long enough) → fault → clearing → normal."""

    phase: str = "normal"
    over_since_ns: int | None = None
    max_value: float | None = None
    below_since_ns: int | None = None
    last_ts_ns: int | None = None


@dataclass(frozen=True, slots=True)
class ConditionFault:
    ts_ns: int
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ConditionCleared:
    ts_ns: int
    evidence: dict[str, Any]


ConditionEvent = ConditionFault | ConditionCleared


class ConditionEngine(Protocol):
    def step(
        self, params: ConditionParams, state: ConditionState, points: Sequence[tuple[int, float]]
    ) -> tuple[ConditionState, list[ConditionEvent]]:
        """Feed ``points`` (event time ns, value), sorted by time, newer than ``state.last_ts_ns``."""
        ...


@dataclass(frozen=True, slots=True)
class StockInputs:
    site: str
    sku: str
    location: str
    sensed_units: float
    reorder_point: float
    target: float
    safety_stock: float
    pack_size: int
    as_of_ns: int
    #: units ordered and not yet received (the location's approved or ordered proposal)
    on_order: float = 0.0


@dataclass(frozen=True, slots=True)
class ProposalDraft:
    quantity: int
    explanation: dict[str, Any]
    priority: str = "normal"  # "urgent" below the safety stock


class StockEngine(Protocol):
    def propose(self, inputs: StockInputs) -> ProposalDraft | None:
        """A replenishment proposal for these inputs, or None when no order is needed."""
        ...
