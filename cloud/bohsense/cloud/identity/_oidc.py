"""Access tokens of a company's identity provider (OpenID Connect): RS256/ES256 JWTs of
one issuer, verified with the keys of its JWKS endpoint, their claims mapped to a role
and stores.

The IdP names the role in ``role_claim`` (a string, or a list of which the most
powerful known role counts) and the stores in ``sites_claim`` (a list of store ids). A
token without a known role is refused; a technician, store manager or planner without
stores too (their scope would otherwise be every store); hq and admin without the claim
see every store. The subject is ``sub`` (or ``subject_claim``).

PyJWT's ``PyJWKClient`` fetches the JWKS (blocking; the API calls this from its thread
pool) and caches it for ``jwks_lifespan_s``; a key id it does not know makes it fetch
again (at most once per cooldown), so a rotated key is picked up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from ._errors import TokenExpired, TokenInvalid
from ._records import ROLES, Identity

__all__ = ["OidcConfig", "OidcVerifier"]

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
LEEWAY_S = 10
_STORE_ROLES = frozenset({"technician", "store_manager", "planner"})


@dataclass(frozen=True, slots=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks_url: str
    role_claim: str = "role"
    sites_claim: str = "sites"
    subject_claim: str = "sub"
    jwks_lifespan_s: float = 300.0


class OidcVerifier:
    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._keys = jwt.PyJWKClient(config.jwks_url, lifespan=config.jwks_lifespan_s, timeout=5)

    def mine(self, token: str) -> bool:
        """Whether ``token`` claims to come from this issuer (unverified: only to choose
        who verifies it)."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return False
        return isinstance(claims, dict) and claims.get("iss") == self.config.issuer

    def identify(self, token: str) -> Identity:
        c = self.config
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=c.audience,
                issuer=c.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud", c.subject_claim]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("the identity provider's token has expired") from None
        except jwt.PyJWKClientConnectionError:
            raise TokenInvalid("the identity provider's keys cannot be fetched now") from None
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            raise TokenInvalid(f"the identity provider's token is not valid ({type(exc).__name__})") from None
        role = self._role(claims.get(c.role_claim))
        sites = claims.get(c.sites_claim)
        if sites is not None and not (
            isinstance(sites, list) and all(isinstance(s, str) and s for s in sites)
        ):
            raise TokenInvalid(f"the token's {c.sites_claim!r} claim is not a list of store ids")
        if sites is None and role in _STORE_ROLES:
            raise TokenInvalid(f"the token names no stores ({c.sites_claim!r}) for the role {role}")
        return Identity(
            subject=str(claims[c.subject_claim]),
            role=role,
            sites=tuple(sorted(set(sites))) if sites is not None else None,
            scopes=(),
            via="oidc",
        )

    def _role(self, value: Any) -> str:
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        known = [r for r in ROLES if r in names]
        if not known:
            raise TokenInvalid(f"the token names no known role in {self.config.role_claim!r}")
        return known[-1]  # ROLES runs least to most powerful
