"""Store scoping at the HTTP boundary: a single item of a store the caller does not see is
"not found" exactly as one that does not exist (``_identity``: its existence is not
revealed), and a store the caller names is checked by ``Principal.require_site``."""

from __future__ import annotations

from typing import TypeVar

from ..boh import NotFound
from ._identity import Principal

__all__ = ["visible"]

T = TypeVar("T")


def visible(principal: Principal, site: str | None, entity: str, entity_id: object, item: T) -> T:
    """``item`` (of ``site``), or the core's ``NotFound`` of ``entity`` when the caller does
    not see its store; a row placed in no store (``site`` None) is seen by unscoped callers only."""
    if not principal.sees(site):
        raise NotFound(entity, entity_id)
    return item
