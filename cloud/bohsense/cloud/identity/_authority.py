"""The authority: sign-in, refresh, sign-out, API keys, and who a credential belongs to.

Sign-in (OAuth2 password grant) answers a short-lived access token (JWT) and a refresh
token. A refresh token is used once: exchanging it revokes it and answers a new pair of
the same *family*; presenting a used one again revokes the whole family (someone holds a
stolen copy) and is refused. A failed sign-in says only that it failed, takes as long
for an unknown user as for a wrong password, and counts against both the user name and
the client address (``LoginLimiter``).

An access token names its user; the user's current role, stores and state are read at
every request, so disabling a user or changing its role takes effect at once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from bohsense.contracts.timeutil import now_ns

from ._errors import (
    BadCredentials,
    IdentityNotFound,
    IdentityValueError,
    KeyRevoked,
    NotAuthenticated,
    TokenExpired,
    TokenInvalid,
    TooManyAttempts,
)
from ._keys import check_secret, new_key, parse_key
from ._limiter import LoginLimiter
from ._oidc import OidcConfig, OidcVerifier
from ._passwords import MIN_PASSWORD_LENGTH, Passwords
from ._records import (
    ApiKeyRecord,
    Identity,
    TokenPair,
    UserRecord,
    check_name,
    check_role,
    check_scopes,
    check_sites,
)
from ._store import UNSET, IdentityStore
from ._tokens import JwtIssuer

__all__ = ["Authority", "AuthorityConfig"]

#: an API key's last use is written at most this often (not a write per request)
TOUCH_EVERY_NS = 60 * 10**9


@dataclass(frozen=True, slots=True)
class AuthorityConfig:
    #: the HS256 key of access tokens; None: no sign-in (API keys still work)
    jwt_secret: str | None = None
    access_ttl_s: float = 900.0
    refresh_ttl_s: float = 8 * 3600.0
    login_max_failures: int = 5
    login_window_s: float = 300.0
    #: tokens of a company's identity provider, verified besides the service's own
    oidc: OidcConfig | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Authority:
    """Identity over the BOH database's engine. ``clock`` is ns since the epoch."""

    def __init__(
        self,
        engine: Engine,
        config: AuthorityConfig,
        *,
        clock: Callable[[], int] = now_ns,
        passwords: Passwords | None = None,
    ) -> None:
        self.config = config
        self.store = IdentityStore(engine, clock=clock)
        self._clock = clock
        self.passwords = passwords or Passwords()
        self.limiter = LoginLimiter(
            config.login_max_failures, config.login_window_s, clock=lambda: self._clock() / 1e9
        )
        self._jwt = (
            JwtIssuer(config.jwt_secret, ttl_s=config.access_ttl_s, clock=lambda: self._clock() / 1e9)
            if config.jwt_secret
            else None
        )
        self._touched: dict[int, int] = {}
        self._oidc = OidcVerifier(config.oidc) if config.oidc is not None else None

    def now(self) -> int:
        return self._clock()

    @property
    def sign_in_enabled(self) -> bool:
        """Whether bearer JWTs are accepted: the service's own, or an identity provider's."""
        return self._jwt is not None or self._oidc is not None

    # -- users ---------------------------------------------------------------------------

    def _password(self, password: str) -> str:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise IdentityValueError("password", f"at least {MIN_PASSWORD_LENGTH} characters")
        if len(password) > 1024:
            raise IdentityValueError("password", "at most 1024 characters")
        return self.passwords.hash(password)

    def add_user(
        self,
        name: str,
        *,
        role: str,
        password: str | None,
        sites: Iterable[str] | None = None,
        display_name: str = "",
        language: str | None = None,
    ) -> UserRecord:
        return self.store.add_user(
            check_name("name", name),
            role=check_role(role),
            password_hash=self._password(password) if password is not None else "",
            sites=check_sites(sites),
            display_name=display_name,
            language=language,
        )

    def update_user(
        self,
        name: str,
        *,
        role: str = UNSET,
        sites: tuple[str, ...] | list[str] | None = UNSET,
        disabled: bool = UNSET,
        password: str = UNSET,
        display_name: str = UNSET,
        language: str | None = UNSET,
    ) -> UserRecord:
        """Change the fields given (``UNSET``: leave as it is; ``sites`` None: every store)."""
        checked_sites: Any = UNSET
        if sites is not UNSET:
            checked_sites = check_sites(sites)
        return self.store.update_user(
            name,
            role=check_role(role) if role is not UNSET else UNSET,
            sites=checked_sites,
            disabled=disabled,
            password_hash=self._password(password) if password is not UNSET else UNSET,
            display_name=display_name,
            language=language,
        )

    # -- sign-in -------------------------------------------------------------------------

    def _require_sign_in(self) -> JwtIssuer:
        """The issuer of the service's own tokens (sign-in needs ``jwt_secret``)."""
        if self._jwt is None:
            raise IdentityNotFound("sign-in is not configured (set BOHSENSE_CLOUD_JWT_SECRET)")
        return self._jwt

    def login(self, username: str, password: str, *, client: str) -> TokenPair:
        """Sign in; raises ``TooManyAttempts`` or ``BadCredentials`` (alike for every cause)."""
        issuer = self._require_sign_in()
        keys = (f"user:{username.lower()}", f"addr:{client}")
        wait = self.limiter.retry_after(keys)
        if wait is not None:
            raise TooManyAttempts(wait)
        found = self.store.user_with_hash(username)
        user, stored = found if found is not None else (None, None)
        ok = self.passwords.verify(stored, password)  # the dummy hash when there is no user
        if not ok or user is None or user.disabled:
            self.limiter.failed(keys)
            raise BadCredentials("the user name or the password is wrong")
        self.limiter.succeeded(keys[0])
        if stored is not None and self.passwords.needs_rehash(stored):
            self.store.update_user(user.name, password_hash=self.passwords.hash(password))
        return self._pair(issuer, user, family=secrets.token_hex(16))

    def _pair(self, issuer: JwtIssuer, user: UserRecord, *, family: str) -> TokenPair:
        access, claims = issuer.issue(user.name, user.role, user.sites)
        refresh = secrets.token_urlsafe(32)
        ttl_ns = int(self.config.refresh_ttl_s * 1e9)
        self.store.add_refresh(
            _hash(refresh), family=family, user=user.name, expires_ns=self._clock() + ttl_ns
        )
        return TokenPair(
            access_token=access,
            expires_in=claims.expires_at - claims.issued_at,
            refresh_token=refresh,
            refresh_expires_in=int(self.config.refresh_ttl_s),
            role=user.role,
            sites=user.sites,
        )

    def refresh(self, refresh_token: str) -> TokenPair:
        """Exchange a refresh token for a new pair (the old one is used up)."""
        issuer = self._require_sign_in()
        used = self.store.use_refresh(_hash(refresh_token))
        if used is None:
            raise TokenInvalid("the refresh token is not valid")
        name, family, expires_ns = used
        if expires_ns is None:
            raise TokenInvalid("the refresh token was used already; every token of its sign-in is revoked")
        if expires_ns <= self._clock():
            raise TokenExpired("the refresh token has expired; sign in again")
        user = self.store.user(name)
        if user is None or user.disabled:
            raise TokenInvalid("the refresh token's user is disabled")
        return self._pair(issuer, user, family=family)

    def logout(self, refresh_token: str) -> bool:
        return self.store.revoke_refresh(_hash(refresh_token))

    # -- API keys ------------------------------------------------------------------------

    def create_key(
        self,
        name: str,
        *,
        role: str,
        scopes: Iterable[str],
        sites: Iterable[str] | None = None,
        expires_ns: int | None = None,
        created_by: str,
    ) -> tuple[ApiKeyRecord, str]:
        """A new key and its secret form ``bsk_…`` (shown once: only its hash is kept)."""
        if expires_ns is not None and expires_ns <= self._clock():
            raise IdentityValueError("expires", "must be in the future")
        key, prefix, digest = new_key()
        record = self.store.add_key(
            name=check_name("name", name),
            prefix=prefix,
            secret_hash=digest,
            role=check_role(role),
            scopes=check_scopes(scopes),
            sites=check_sites(sites),
            created_by=created_by,
            expires_ns=expires_ns,
        )
        return record, key

    # -- who is calling ------------------------------------------------------------------

    def identify_key(self, key: str) -> Identity:
        parsed = parse_key(key)
        if parsed is None:
            raise NotAuthenticated("not a valid API key")
        prefix, secret = parsed
        found = self.store.key_by_prefix(prefix)
        if found is None or not check_secret(secret, found[1]):
            raise NotAuthenticated("not a valid API key")
        record = found[0]
        now = self._clock()
        if not record.active(now):
            raise KeyRevoked(f"API key {record.prefix} is revoked or expired")
        if now - self._touched.get(record.id, 0) >= TOUCH_EVERY_NS:
            self._touched[record.id] = now
            self.store.touch_key(record.id, now)
        return Identity(f"key:{record.name}", record.role, record.sites, record.scopes, "api_key")

    def identify_token(self, token: str) -> Identity:
        """The identity of a bearer JWT: the identity provider's when it claims that issuer
        (and one is configured), else one this service signed."""
        if self._oidc is not None and (self._jwt is None or self._oidc.mine(token)):
            return self._oidc.identify(token)
        if self._jwt is None:
            raise NotAuthenticated("not a valid token")
        claims = self._jwt.verify(token)
        user = self.store.user(claims.subject)
        if user is None or user.disabled:
            raise TokenInvalid("the token's user is disabled or removed")
        return Identity(user.name, user.role, user.sites, (), "jwt", user.language)
