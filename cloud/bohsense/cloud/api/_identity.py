"""Who is asking: the ``Principal`` of a request, and the stores it may see.

Every route reads the caller through ``PrincipalDep``. How the principal is established
(a signed-in person's JWT, a machine's API key, the service token, or an open API bound to
loopback) is the business of the authentication layer, which stores it on
``request.state.principal`` before the route runs; when nothing did, the API is open and
the caller is the local administrator (``LOCAL``).

Scoping. ``Principal.sites`` is the set of stores the caller may see and act on, or
``None`` for every store (HQ, admin, fleet-wide machines). A list answers only rows of
those stores; a single item of another store is "not found" (its existence is not
revealed); naming another store explicitly (``?site=``, ``/sites/{site}``) is refused
403 ``out-of-scope``.

The acting user of the audit trail is ``Principal.actor``, never a field of the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from fastapi import Depends, Request

from ._errors import ApiProblem

__all__ = [
    "LOCAL",
    "ROLES",
    "OutOfScope",
    "Principal",
    "PrincipalDep",
    "Role",
    "current_principal",
]

Role = Literal["technician", "store_manager", "planner", "hq", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
Via = Literal["jwt", "api_key", "token", "open"]


class OutOfScope(ApiProblem):
    """The caller named a store it is not scoped to."""

    def __init__(self, site: str) -> None:
        super().__init__(403, "out-of-scope", f"store {site!r} is outside the caller's stores")


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request."""

    #: the audit trail's actor: a user name, ``key:<name>`` for an API key, ``api`` for
    #: the service token or an open API
    subject: str
    role: Role
    #: the stores the caller may see; ``None`` is every store
    sites: frozenset[str] | None = None
    #: an API key's scopes (empty for people: their role decides)
    scopes: frozenset[str] = frozenset()
    via: Via = "open"

    @property
    def actor(self) -> str:
        return self.subject

    @property
    def scoped(self) -> bool:
        return self.sites is not None

    def sees(self, site: str | None) -> bool:
        """Whether a row of ``site`` is visible (a row placed in no store: only to
        callers who see every store)."""
        if self.sites is None:
            return True
        return site is not None and site in self.sites

    def require_site(self, site: str) -> None:
        """Refuse (403 ``out-of-scope``) a store the caller names but may not see."""
        if not self.sees(site):
            raise OutOfScope(site)

    def site_filter(self, site: str | None) -> frozenset[str] | None:
        """The stores a list may answer for a ``?site=`` filter: that one store (checked),
        the caller's stores, or ``None`` for every store."""
        if site is not None:
            self.require_site(site)
            return frozenset({site})
        return self.sites


#: the caller of an API without authentication (bound to loopback) or with the service token
LOCAL = Principal(subject="api", role="admin", sites=None, via="open")


async def current_principal(request: Request) -> Principal:
    """The principal the authentication layer established for this request (``LOCAL`` when
    the API is open)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal if principal is not None else LOCAL


PrincipalDep = Annotated[Principal, Depends(current_principal)]
