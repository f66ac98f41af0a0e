"""Errors of the BOH core.

::

    BohError                    base of everything raised here
    ├── NotFound                no entity with that id (the API answers 404)
    ├── InvalidTransition       a lifecycle does not allow that move (the API answers 409)
    ├── StateConflict           the entity's state does not allow that change now, e.g. resolving
    │                           an alert whose condition is still active (409, with a reason)
    ├── InvalidValue            a value the domain refuses, e.g. a quantity that is not whole packs (422)
    └── CatalogError            a catalog is malformed or refers to something unknown
"""

from __future__ import annotations

from bohsense.cloud.errors import CloudError

__all__ = ["BohError", "CatalogError", "InvalidTransition", "InvalidValue", "NotFound", "StateConflict"]


class BohError(CloudError):
    """Base of the BOH core's errors."""


class NotFound(BohError):
    def __init__(self, entity: str, entity_id: object) -> None:
        super().__init__(f"no {entity} with id {entity_id!r}")
        self.entity = entity
        self.entity_id = entity_id


class InvalidTransition(BohError):
    def __init__(
        self, entity: str, entity_id: object, current: str, to: str, allowed: frozenset[str]
    ) -> None:
        options = ", ".join(sorted(allowed)) or "none: it is final"
        super().__init__(
            f"{entity} {entity_id} cannot go from {current!r} to {to!r} (allowed from {current!r}: {options})"
        )
        self.entity = entity
        self.entity_id = entity_id
        self.current = current
        self.to = to
        self.allowed = allowed


class StateConflict(BohError):
    """``reason`` is short and sortable (``condition-active``, ``final``, …); the message says why."""

    def __init__(self, entity: str, entity_id: object, state: str, reason: str, message: str) -> None:
        super().__init__(f"{entity} {entity_id} ({state}): {message}")
        self.entity = entity
        self.entity_id = entity_id
        self.state = state
        self.reason = reason


class InvalidValue(BohError):
    """A value the domain refuses; the message names the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class CatalogError(BohError):
    """The catalog is malformed; the message names the entry and the field."""
