"""Lifecycles of alerts, work orders and replenishment proposals: everything about them is here.

Each lifecycle is a table ``state -> states it may move to``. ``OPEN`` names the states in
which an entity still counts as open: the database allows at most one open alert per
(asset, condition) and one open proposal per (site, sku, location), enforced by partial
unique indexes over exactly these states (see ``_models``).

::

    alert        open ──▶ acknowledged ──▶ resolved
                   └──────────────────────▲    │
                   ▲───────── reopen ◀─────────┘  (the engine only: a recurrence
                                                   within the reopen window)

    work order   open ──▶ in_progress ──▶ done ──▶ closed
                   └────────┴──▶ cancelled

    proposal     proposed ──▶ approved ──▶ ordered ──▶ received
                     └───────────┴──▶ rejected  └──▶ cancelled

A proposal stays open while its goods are on their way: ``ordered`` is open, so the lane's
next readings cannot open a second order for the same SKU and location; ``received`` (the
goods are in the store: mark it once they are on the shelf) or ``cancelled`` closes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ._errors import InvalidTransition

__all__ = ["ALERT", "PROPOSAL", "WORK_ORDER", "Lifecycle"]


@dataclass(frozen=True, slots=True)
class Lifecycle:
    entity: str
    initial: str
    moves: Mapping[str, frozenset[str]]
    open: frozenset[str]
    #: moves only the engine makes, never a person (an alert's reopening)
    engine_moves: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.moves)

    def check(self, entity_id: object, current: str, to: str) -> None:
        """Raise ``InvalidTransition`` unless ``current -> to`` is a move of this lifecycle."""
        allowed = self.moves.get(current, frozenset())
        if to not in allowed:
            raise InvalidTransition(self.entity, entity_id, current, to, allowed)


ALERT = Lifecycle(
    entity="alert",
    initial="open",
    moves={
        "open": frozenset({"acknowledged", "resolved"}),
        "acknowledged": frozenset({"resolved"}),
        "resolved": frozenset(),
    },
    open=frozenset({"open", "acknowledged"}),
    engine_moves={"resolved": frozenset({"open"})},
)

WORK_ORDER = Lifecycle(
    entity="work_order",
    initial="open",
    moves={
        "open": frozenset({"in_progress", "cancelled"}),
        "in_progress": frozenset({"done", "cancelled"}),
        "done": frozenset({"closed"}),
        "closed": frozenset(),
        "cancelled": frozenset(),
    },
    open=frozenset({"open", "in_progress", "done"}),
)

PROPOSAL = Lifecycle(
    entity="replenishment_proposal",
    initial="proposed",
    moves={
        "proposed": frozenset({"approved", "rejected"}),
        "approved": frozenset({"ordered", "rejected"}),
        "ordered": frozenset({"received", "cancelled"}),
        "received": frozenset(),
        "rejected": frozenset(),
        "cancelled": frozenset(),
    },
    open=frozenset({"proposed", "approved", "ordered"}),
)
