"""The rule seam: what the BOH core asks of a condition engine and a stock engine.

Engines are pure: state and readings in, new state and typed decisions out
(``FaultConfirmed``, ``FaultCleared``, ``ReplenishmentNeeded``), each with its severity,
subject and evidence. Engines never write: what a decision does (open an alert, create a
work order, notify, schedule an escalation, propose an order) is one table of data,
``boh._decisions.DECISION_EFFECTS``, carried out by one executor in the apply
transaction. A condition engine's state is opaque to the core: it is stored as JSON per
rule and subject (``rule_state``) through the engine's ``load_state`` / ``dump_state``,
so a learned detector sits behind a rule as easily as the threshold rule does. Later
engines (anomaly detectors, forecasts) replace the simple ones here by implementing the
same two protocols.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

__all__ = [
    "SEVERITIES",
    "ConditionCleared",
    "ConditionEngine",
    "ConditionEvent",
    "ConditionFault",
    "ConditionParams",
    "ConditionState",
    "Decision",
    "FaultCleared",
    "FaultConfirmed",
    "PlanParams",
    "ProposalDraft",
    "ReplenishmentNeeded",
    "StockEngine",
    "StockInputs",
    "severity_rank",
]

#: severities, least to most severe (a rule's ``severity`` is one of them)
SEVERITIES = ("info", "warning", "major", "critical")


def severity_rank(severity: str) -> int:
    """The position of ``severity`` in ``SEVERITIES`` (an unknown one ranks as warning)."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return SEVERITIES.index("warning")


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
    #: "threshold" (this module's engines) or "detector" (``_detector``: a model file on ``metrics``)
    engine: str = "threshold"
    metrics: tuple[str, ...] = ()
    model: str = ""
    #: work orders of this rule closed ``no_fault_found`` (lowers its confidence)
    no_fault_found: int = 0
    rule_id: int | None = None


@dataclass(frozen=True, slots=True)
class ConditionState:
    """``phase``: normal → over (above limit, not long enough) → fault → clearing → normal."""

    phase: str = "normal"
    over_since_ns: int | None = None
    max_value: float | None = None
    below_since_ns: int | None = None
    last_ts_ns: int | None = None


@dataclass(frozen=True, slots=True)
class FaultConfirmed:
    """A condition confirmed at ``ts_ns`` (event time) on ``subject`` (``<asset>/<condition>``)."""

    kind: ClassVar[str] = "fault_confirmed"
    ts_ns: int
    evidence: dict[str, Any]
    severity: str = "warning"
    subject: str = ""


@dataclass(frozen=True, slots=True)
class FaultCleared:
    """A confirmed condition that stayed below its clear level long enough."""

    kind: ClassVar[str] = "fault_cleared"
    ts_ns: int
    evidence: dict[str, Any]
    severity: str = "warning"
    subject: str = ""


#: the names these had before decisions were typed apart from their effects
ConditionFault = FaultConfirmed
ConditionCleared = FaultCleared
ConditionEvent = FaultConfirmed | FaultCleared


class ConditionEngine(Protocol):
    """``step`` is pure; ``load_state`` / ``dump_state`` carry the engine's own state to and
    from the JSON the core stores (``None``: the rule has no state yet, or was reset)."""

    def step(
        self, params: ConditionParams, state: Any, points: Sequence[tuple[int, float]]
    ) -> tuple[Any, list[ConditionEvent]]:
        """Feed ``points`` (event time ns, value), sorted by time, newer than any seen before."""
        ...

    def load_state(self, data: dict[str, Any] | None) -> Any: ...

    def dump_state(self, state: Any) -> dict[str, Any]: ...

    def phase(self, state: Any) -> str:
        """``normal``, ``over``, ``fault`` or ``clearing`` (``fault`` and ``clearing``: the
        condition is active, its alert cannot be resolved)."""
        ...


@dataclass(frozen=True, slots=True)
class PlanParams:
    """The planner's inputs of one stock location (``replenishment_plans``): the forecast
    demand over the lead time (mean and variance) and per day, the ABC/XYZ class and its
    target service level, costs for the EOQ and the order constraints."""

    abc: str
    xyz: str
    service_level: float
    lead_time_days: int
    daily_mean: float
    lead_time_mean: float
    lead_time_var: float
    method: str
    as_of_ns: int
    unit_cost: float | None = None
    ordering_cost: float | None = None
    holding_rate: float | None = None
    min_order: int = 0
    shelf_capacity: float | None = None


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
    #: the planner's inputs, when the location has a plan (else the catalog's numbers)
    plan: PlanParams | None = None
    #: book stock (units), when a book-stock ledger keeps it
    book_units: float | None = None


@dataclass(frozen=True, slots=True)
class ReplenishmentNeeded:
    """Order ``quantity`` for a stock location (the subject: ``<site>/<sku>/<location>``)."""

    kind: ClassVar[str] = "replenishment_needed"
    quantity: int
    explanation: dict[str, Any]
    priority: str = "normal"  # "urgent" below the safety stock
    subject: str = ""

    @property
    def severity(self) -> str:
        return "major" if self.priority == "urgent" else "info"

    @property
    def evidence(self) -> dict[str, Any]:
        return self.explanation


ProposalDraft = ReplenishmentNeeded
Decision = FaultConfirmed | FaultCleared | ReplenishmentNeeded


class StockEngine(Protocol):
    def propose(self, inputs: StockInputs) -> ReplenishmentNeeded | None:
        """A replenishment proposal for these inputs, or None when no order is needed."""
        ...
