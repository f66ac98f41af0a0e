"""Access tokens: short-lived JWTs (HS256) signed with the service's secret.

Claims: ``sub`` (the user), ``role``, ``sites`` (null: every store), ``iat``, ``exp``,
``jti``, ``iss`` = ``bohsense``, ``aud`` = ``bohsense-api``. Verification names the one
algorithm it accepts (so ``alg: none`` or a key confusion cannot pass), requires
``exp``, ``iat``, ``sub`` and ``jti``, and allows a few seconds of clock difference.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from ._errors import TokenExpired, TokenInvalid

__all__ = ["AUDIENCE", "ISSUER", "AccessClaims", "JwtIssuer"]

ISSUER = "bohsense"
AUDIENCE = "bohsense-api"
ALGORITHM = "HS256"
LEEWAY_S = 10


@dataclass(frozen=True, slots=True)
class AccessClaims:
    subject: str
    role: str
    sites: tuple[str, ...] | None
    issued_at: int
    expires_at: int
    jti: str


class JwtIssuer:
    """Issue and verify access tokens. ``clock`` is seconds since the epoch (the time of
    issue; verification uses the wall clock, as PyJWT does)."""

    def __init__(self, secret: str, *, ttl_s: float, clock: Callable[[], float]) -> None:
        self._secret, self.ttl_s, self._clock = secret, ttl_s, clock

    def issue(self, subject: str, role: str, sites: tuple[str, ...] | None) -> tuple[str, AccessClaims]:
        now = int(self._clock())
        claims = AccessClaims(subject, role, sites, now, now + int(self.ttl_s), secrets.token_hex(16))
        payload: dict[str, Any] = {
            "sub": subject,
            "role": role,
            "sites": list(sites) if sites is not None else None,
            "iat": claims.issued_at,
            "exp": claims.expires_at,
            "jti": claims.jti,
            "iss": ISSUER,
            "aud": AUDIENCE,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), claims

    def verify(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("the access token has expired; refresh it or sign in again") from None
        except jwt.InvalidTokenError as exc:
            raise TokenInvalid(f"the access token is not valid ({type(exc).__name__})") from None
        sites = payload.get("sites")
        role = payload.get("role")
        if not isinstance(role, str) or not (
            sites is None or (isinstance(sites, list) and all(isinstance(s, str) for s in sites))
        ):
            raise TokenInvalid("the access token's role or sites are malformed")
        return AccessClaims(
            str(payload["sub"]),
            role,
            tuple(sites) if sites is not None else None,
            int(payload["iat"]),
            int(payload["exp"]),
            str(payload["jti"]),
        )
