"""Tokens of a company's identity provider: RS256 JWTs verified with the keys of its JWKS
endpoint (a local RSA key, its JWKS served by a tiny HTTP server), claims mapped to a
role and stores, and everything else refused."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bohsense.cloud.boh import BohCore
from bohsense.cloud.identity import Authority, AuthorityConfig, OidcConfig, TokenExpired, TokenInvalid

ISSUER = "https://idp.example.com/tenant"
AUDIENCE = "api://bohsense"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/keys"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def authority(db_url: str, jwks_url: str) -> Iterator[Authority]:
    core = BohCore(db_url)
    oidc = OidcConfig(issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks_url, role_claim="roles", sites_claim="stores")  # fmt: skip
    yield Authority(
        core.engine, AuthorityConfig(jwt_secret="own-secret-of-more-than-32-bytes-Kx72", oidc=oidc)
    )
    core.close()


def _token(key: Any = KEY, kid: str = "k1", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u-123", "iat": now, "exp": now + 300, **claims}
    return jwt.encode(
        {k: v for k, v in payload.items() if v is not None}, key, algorithm="RS256", headers={"kid": kid}
    )


def test_an_identity_provider_s_token_maps_to_a_role_and_stores(authority: Authority) -> None:
    who = authority.identify_token(_token(roles=["technician", "store_manager"], stores=["S2", "S1"]))
    assert (who.subject, who.role, who.sites, who.via) == ("u-123", "store_manager", ("S1", "S2"), "oidc")
    hq = authority.identify_token(_token(roles="hq"))
    assert (hq.role, hq.sites) == ("hq", None)
    # the service's own tokens still work beside it
    authority.add_user("ann", role="planner", password="a good password")
    own = authority.login("ann", "a good password", client="c").access_token
    assert authority.identify_token(own).role == "planner"


@pytest.mark.parametrize(
    ("token", "error"),
    [
        pytest.param(lambda: _token(key=OTHER, roles="hq"), TokenInvalid, id="other-key"),
        pytest.param(lambda: _token(kid="unknown", roles="hq"), TokenInvalid, id="unknown-kid"),
        pytest.param(lambda: _token(aud="api://other", roles="hq"), TokenInvalid, id="wrong-aud"),
        pytest.param(lambda: _token(roles="hq", exp=int(time.time()) - 60), TokenExpired, id="expired"),
        pytest.param(lambda: _token(roles="superuser"), TokenInvalid, id="unknown-role"),
        pytest.param(lambda: _token(), TokenInvalid, id="no-role"),
        pytest.param(lambda: _token(roles="technician"), TokenInvalid, id="store-role-without-stores"),
        pytest.param(lambda: _token(roles="hq", stores="S1"), TokenInvalid, id="stores-not-a-list"),
        pytest.param(lambda: _token(roles="hq", sub=None), TokenInvalid, id="no-subject"),
    ],
)
def test_anything_else_from_the_issuer_is_refused(
    authority: Authority, token: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        authority.identify_token(token())


def test_a_token_naming_another_issuer_is_checked_as_the_service_s_own(authority: Authority) -> None:
    with pytest.raises(TokenInvalid):  # not the IdP's, and not signed with the service's secret
        authority.identify_token(_token(iss="https://evil.example", roles="admin"))
