"""The errors of identity: who may not come in, and why.

::

    IdentityError (CloudError)
    ├── NotAuthenticated          no valid credential: unknown key, wrong token (401)
    │   ├── BadCredentials        a sign-in refused: never says whether the user exists
    │   ├── TokenExpired          a JWT or refresh token past its expiry
    │   ├── TokenInvalid          forged, tampered, wrong issuer or audience, reused, disabled user
    │   └── KeyRevoked            an API key revoked or past its expiry
    ├── TooManyAttempts           sign-ins refused too often; ``retry_after_s`` (429)
    ├── IdentityNotFound          no such user or API key (404)
    ├── IdentityConflict          a user of that name exists (409)
    └── IdentityValueError        a role, scope, store list, name or password refused (422)

No message quotes a secret, a password or a token.
"""

from __future__ import annotations

from ..errors import CloudError

__all__ = [
    "BadCredentials",
    "IdentityConflict",
    "IdentityError",
    "IdentityNotFound",
    "IdentityValueError",
    "KeyRevoked",
    "NotAuthenticated",
    "TokenExpired",
    "TokenInvalid",
    "TooManyAttempts",
]


class IdentityError(CloudError):
    """Root of the identity errors."""


class NotAuthenticated(IdentityError):
    """No valid credential."""


class BadCredentials(NotAuthenticated):
    """A sign-in refused (user unknown, password wrong, user disabled: all alike)."""


class TokenExpired(NotAuthenticated):
    """A token past its expiry."""


class TokenInvalid(NotAuthenticated):
    """A token that is not one of ours, or no longer valid."""


class KeyRevoked(NotAuthenticated):
    """An API key revoked or past its expiry."""


class TooManyAttempts(IdentityError):
    """Too many failed sign-ins for this user or address; try again after ``retry_after_s``."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class IdentityNotFound(IdentityError):
    """No such user or API key."""


class IdentityConflict(IdentityError):
    """A user of that name exists."""


class IdentityValueError(IdentityError, ValueError):
    """A value refused: ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason
