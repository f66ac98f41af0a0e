"""What identity stores and answers: users, API keys, the identity of a caller."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._errors import IdentityValueError

__all__ = [
    "ROLES",
    "SCOPES",
    "ApiKeyRecord",
    "Identity",
    "TokenPair",
    "UserRecord",
    "check_name",
    "check_role",
    "check_scopes",
    "check_sites",
]

#: the roles, least to most powerful; the API's ``Role`` is the same list (a test checks)
ROLES: tuple[str, ...] = ("technician", "store_manager", "planner", "hq", "admin")
#: what an API key may be limited to; ``admin`` holds every scope
SCOPES: dict[str, str] = {
    "read": "read every GET its role allows",
    "alerts:write": "acknowledge and resolve alerts",
    "work-orders:write": "create, edit and move work orders",
    "replenishment:write": "edit, approve, reject, order and receive proposals; set plans",
    "catalog:write": "change the catalog (sites, gateways, SKUs, assets, locations)",
    "commands:write": "send commands to gateways",
    "pos:write": "post point-of-sale transactions",
    "admin": "everything, including users, API keys, quarantine and webhooks",
}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}$")
_SITE_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


def check_name(field: str, name: str) -> str:
    if not _NAME_RE.match(name):
        raise IdentityValueError(
            field, "1-64 letters, digits, '_', '.', '@', '-', starting with a letter or digit"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise IdentityValueError("role", f"not one of {', '.join(ROLES)}")
    return role


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    out = tuple(sorted(set(scopes)))
    unknown = [s for s in out if s not in SCOPES]
    if unknown:
        raise IdentityValueError("scopes", f"unknown scope {unknown[0]!r} (known: {', '.join(SCOPES)})")
    if not out:
        raise IdentityValueError("scopes", "name at least one scope")
    return out


def check_sites(sites: Iterable[str] | None) -> tuple[str, ...] | None:
    if sites is None:
        return None
    out = tuple(sorted(set(sites)))
    bad = [s for s in out if not _SITE_RE.match(s)]
    if bad:
        raise IdentityValueError("sites", "a store id is 1-64 letters, digits, '_', '.', ':', '-'")
    if not out:
        raise IdentityValueError("sites", "name at least one store (null: every store)")
    return out


@dataclass(frozen=True, slots=True)
class UserRecord:
    name: str
    display_name: str
    role: str
    sites: tuple[str, ...] | None
    disabled: bool
    language: str | None
    has_password: bool
    created_ns: int
    updated_ns: int


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key as listed: never its secret nor the secret's hash."""

    id: int
    name: str
    prefix: str
    role: str
    scopes: tuple[str, ...]
    sites: tuple[str, ...] | None
    created_by: str
    created_ns: int
    expires_ns: int | None
    revoked_ns: int | None
    last_used_ns: int | None

    def active(self, now_ns: int) -> bool:
        return self.revoked_ns is None and (self.expires_ns is None or self.expires_ns > now_ns)

    def summary(self, now_ns: int) -> dict[str, Any]:
        """The key as the API and the command line show it (JSON-ready), active or not at ``now_ns``."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "role": self.role,
            "scopes": list(self.scopes),
            "sites": list(self.sites) if self.sites is not None else None,
            "created_by": self.created_by,
            "created_ns": self.created_ns,
            "expires_ns": self.expires_ns,
            "revoked_ns": self.revoked_ns,
            "last_used_ns": self.last_used_ns,
            "active": self.active(now_ns),
        }


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a credential belongs to. ``via``: jwt, api_key or oidc."""

    subject: str
    role: str
    sites: tuple[str, ...] | None
    scopes: tuple[str, ...]
    via: str
    language: str | None = None


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a sign-in or a refresh answers."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    role: str
    sites: tuple[str, ...] | None
