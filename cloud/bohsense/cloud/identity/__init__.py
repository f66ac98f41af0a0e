"""Identity: the people and machines that call the API, and how they prove it.

``Authority`` signs people in (argon2id passwords, short-lived HS256 access tokens,
rotating refresh tokens with reuse detection, a sign-in rate limit), issues and checks
machines' API keys (``bsk_<prefix>_<secret>``, only a hash kept), and says who a
credential belongs to (an ``Identity``: subject, role, stores, scopes). The rows live in
the BOH database (``IdentityStore``). What a role may do is the API's policy
(``bohsense.cloud.api._policy``), not this package's.

Errors are drawn in ``_errors``.
"""

from ._authority import Authority, AuthorityConfig
from ._errors import (
    BadCredentials,
    IdentityConflict,
    IdentityError,
    IdentityNotFound,
    IdentityValueError,
    KeyRevoked,
    NotAuthenticated,
    TokenExpired,
    TokenInvalid,
    TooManyAttempts,
)
from ._keys import KEY_MARK
from ._limiter import LoginLimiter
from ._oidc import OidcConfig, OidcVerifier
from ._passwords import MIN_PASSWORD_LENGTH, Passwords
from ._records import ROLES, SCOPES, ApiKeyRecord, Identity, TokenPair, UserRecord
from ._store import UNSET, IdentityStore
from ._tokens import AUDIENCE, ISSUER, JwtIssuer

__all__ = [
    "AUDIENCE",
    "ISSUER",
    "KEY_MARK",
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "SCOPES",
    "UNSET",
    "ApiKeyRecord",
    "Authority",
    "AuthorityConfig",
    "BadCredentials",
    "Identity",
    "IdentityConflict",
    "IdentityError",
    "IdentityNotFound",
    "IdentityStore",
    "IdentityValueError",
    "JwtIssuer",
    "KeyRevoked",
    "LoginLimiter",
    "NotAuthenticated",
    "OidcConfig",
    "OidcVerifier",
    "Passwords",
    "TokenExpired",
    "TokenInvalid",
    "TokenPair",
    "TooManyAttempts",
    "UserRecord",
]
