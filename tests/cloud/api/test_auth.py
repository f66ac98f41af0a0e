"""Sign-in, refresh, tokens and API keys through the API: what gets in, what is refused
and with which problem."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.api import create_app
from bohsense.cloud.api._identity import Principal
from bohsense.cloud.boh import BohCore
from bohsense.cloud.identity import Authority

from .conftest import JWT_SECRET, PASSWORD, TOKEN, FakeTimeSeries, fast_authority

V1 = "/api/v1"
PROBLEMS = "https://bohsense.dev/problems/"


@pytest.fixture
def core(copied_core: BohCore) -> BohCore:
    return copied_core


def _authority(client: TestClient) -> Authority:
    authority: Authority = client.app.state.auth.authority  # type: ignore[attr-defined]
    return authority


def _login(client: TestClient, user: str = "ann", password: str = PASSWORD, **headers: str) -> Any:
    return client.post(
        f"{V1}/auth/token",
        data={"grant_type": "password", "username": user, "password": password},
        headers=headers,
    )


def _kind(r: Any, status: int, kind: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert body["type"] == PROBLEMS + kind, body
    return body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def ann(authed: TestClient) -> TestClient:
    _authority(authed).add_user("ann", role="store_manager", password=PASSWORD, sites=["S1"], language="de")
    return authed


def test_a_user_signs_in_and_calls_with_the_access_token(ann: TestClient) -> None:
    r = _login(ann)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["role"] == "store_manager"
    assert body["sites"] == ["S1"]
    claims = jwt.decode(body["access_token"], JWT_SECRET, algorithms=["HS256"], audience="bohsense-api")
    assert claims["sub"] == "ann"
    assert claims["iss"] == "bohsense"
    assert claims["sites"] == ["S1"]
    assert {"iat", "exp", "jti"} <= set(claims)
    me = ann.get(f"{V1}/auth/me", headers=_bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json() == {
        "name": "ann", "role": "store_manager", "sites": ["S1"], "scopes": [], "via": "jwt", "language": "de",
    }  # fmt: skip
    assert ann.get(f"{V1}/alerts", headers=_bearer(body["access_token"])).status_code == 200


def test_a_refused_sign_in_never_says_whether_the_user_exists(ann: TestClient) -> None:
    wrong = _kind(_login(ann, password="not the password"), 401, "unauthorized")
    nobody = _kind(_login(ann, user="nobody"), 401, "unauthorized")
    assert wrong["detail"] == nobody["detail"]
    assert _login(ann, password="not the password").headers["www-authenticate"].startswith("Bearer")
    _authority(ann).update_user("ann", disabled=True)
    assert _kind(_login(ann), 401, "unauthorized")["detail"] == wrong["detail"]


def test_the_token_request_is_a_form_with_known_fields(ann: TestClient) -> None:
    url = f"{V1}/auth/token"
    _kind(ann.post(url, json={"grant_type": "password"}), 415, "unsupported-media-type")
    _kind(ann.post(url, data={"grant_type": "password", "username": "ann"}), 422, "validation")
    _kind(ann.post(url, data={"grant_type": "client_credentials"}), 422, "validation")
    _kind(ann.post(url, data={"grant_type": "password", "username": "ann", "password": "x", "pin": "1"}), 422, "validation")  # fmt: skip


def test_failed_sign_ins_are_limited_per_user_and_per_address(ann: TestClient) -> None:
    for _ in range(5):
        _kind(_login(ann, password="guess"), 401, "unauthorized")
    limited = _login(ann)  # even the right password, until the window passes
    _kind(limited, 429, "too-many-requests")
    assert 1 <= int(limited.headers["retry-after"]) <= 300
    # the address is limited too: another user name from the same client is refused
    _authority(ann).add_user("bob", role="technician", password=PASSWORD)
    _kind(_login(ann, user="bob"), 429, "too-many-requests")


def test_a_success_clears_the_user_s_failures(ann: TestClient) -> None:
    for _ in range(4):
        _login(ann, password="guess")
    assert _login(ann).status_code == 200
    assert _authority(ann).limiter.retry_after(["user:ann"]) is None


def test_a_refresh_token_is_used_once_and_its_reuse_revokes_the_sign_in(ann: TestClient) -> None:
    first = _login(ann).json()
    url = f"{V1}/auth/token"
    second = ann.post(url, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    second_body = second.json()
    assert second_body["refresh_token"] != first["refresh_token"]
    # the first one again: stolen; it and every later token of this sign-in are refused
    _kind(ann.post(url, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}), 401, "token-invalid")  # fmt: skip
    _kind(ann.post(url, data={"grant_type": "refresh_token", "refresh_token": second_body["refresh_token"]}), 401, "token-invalid")  # fmt: skip
    _kind(
        ann.post(url, data={"grant_type": "refresh_token", "refresh_token": "made-up"}), 401, "token-invalid"
    )


def test_logout_revokes_the_refresh_token(ann: TestClient) -> None:
    pair = _login(ann).json()
    h = _bearer(pair["access_token"])
    assert (
        ann.post(f"{V1}/auth/logout", json={"refresh_token": pair["refresh_token"]}, headers=h).status_code
        == 204
    )
    r = ann.post(
        f"{V1}/auth/token", data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    )
    _kind(r, 401, "token-invalid")


def test_an_expired_access_token_is_token_expired(core: BohCore, tsdb: FakeTimeSeries) -> None:
    past = fast_authority(core)
    past._clock = lambda: time.time_ns() - 3600 * 10**9
    past.add_user("ann", role="technician", password=PASSWORD)
    with TestClient(create_app(core=core, tsdb=tsdb, identity=past)) as client:
        token = _login(client).json()["access_token"]
        r = client.get(f"{V1}/alerts", headers=_bearer(token))
        _kind(r, 401, "token-expired")
        assert 'error="invalid_token"' in r.headers["www-authenticate"]


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "ann", "role": "admin", "sites": None, "iat": now, "exp": now + 600, "jti": "j1",
        "iss": "bohsense", "aud": "bohsense-api", **extra,
    }  # fmt: skip


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda: jwt.encode(_claims(), "another-secret-of-32-bytes-or-more!!", algorithm="HS256"),
            id="other-secret",
        ),
        pytest.param(lambda: jwt.encode(_claims(), None, algorithm="none"), id="alg-none"),
        pytest.param(
            lambda: jwt.encode(_claims(aud="someone-else"), JWT_SECRET, algorithm="HS256"), id="wrong-aud"
        ),
        pytest.param(lambda: jwt.encode(_claims(iss="evil"), JWT_SECRET, algorithm="HS256"), id="wrong-iss"),
        pytest.param(
            lambda: jwt.encode(
                {k: v for k, v in _claims().items() if k != "exp"}, JWT_SECRET, algorithm="HS256"
            ),
            id="no-exp",
        ),
        pytest.param(lambda: "tampered", id="tampered"),  # replaced below with a real token's payload changed
    ],
)
def test_a_forged_or_foreign_token_is_token_invalid(ann: TestClient, forge: Any) -> None:
    token = forge()
    if token == "tampered":
        head, payload, sig = _login(ann).json()["access_token"].split(".")
        import base64
        import json

        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["role"] = "admin"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        token = f"{head}.{forged}.{sig}"
    _kind(ann.get(f"{V1}/alerts", headers=_bearer(token)), 401, "token-invalid")


def test_a_disabled_user_s_access_token_stops_working_at_once(ann: TestClient) -> None:
    token = _login(ann).json()["access_token"]
    assert ann.get(f"{V1}/alerts", headers=_bearer(token)).status_code == 200
    _authority(ann).update_user("ann", disabled=True)
    _kind(ann.get(f"{V1}/alerts", headers=_bearer(token)), 401, "token-invalid")


def test_the_service_token_is_admin_and_nothing_is_an_unauthorized(authed: TestClient) -> None:
    me = authed.get(f"{V1}/auth/me", headers=_bearer(TOKEN)).json()
    assert me["role"] == "admin"
    assert me["via"] == "token"
    assert me["name"] == "api"
    r = authed.get(f"{V1}/alerts")
    _kind(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    _kind(authed.get(f"{V1}/alerts", headers=_bearer("not-a-token")), 401, "unauthorized")
    assert authed.get(f"{V1}/healthz").status_code == 200


def test_a_role_not_allowed_is_insufficient_role(ann: TestClient) -> None:
    h = _bearer(_login(ann).json()["access_token"])
    body = _kind(ann.get(f"{V1}/users", headers=h), 403, "insufficient-role")
    assert "admin" in body["detail"]
    _kind(ann.put(f"{V1}/catalog/sites/S9", json={"name": "x"}, headers=h), 403, "insufficient-role")


def _admin(client: TestClient) -> dict[str, str]:
    return _bearer(TOKEN)


def test_an_api_key_is_made_once_listed_without_its_secret_and_revoked(authed: TestClient) -> None:
    h = _admin(authed)
    r = authed.post(f"{V1}/api-keys", json={"name": "grafana", "role": "hq", "scopes": ["read"]}, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert key.startswith(f"bsk_{created['prefix']}_")
    assert created["created_by"] == "api"
    listed = authed.get(f"{V1}/api-keys", headers=h).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert key.split("_", 2)[2] not in str(listed)
    assert "secret_hash" not in listed[0]
    me = authed.get(f"{V1}/auth/me", headers=_bearer(key)).json()
    assert me == {"name": "key:grafana", "role": "hq", "sites": None, "scopes": ["read"], "via": "api_key", "language": None}  # fmt: skip
    assert authed.get(f"{V1}/alerts", headers={"X-API-Key": key}).status_code == 200
    assert authed.get(f"{V1}/api-keys", headers=h).json()[0]["last_used_ns"] is not None
    # a key without the scope: refused even where its role could
    _kind(authed.post(f"{V1}/alerts/1/acknowledge", json={}, headers=_bearer(key)), 403, "insufficient-role")
    revoked = authed.delete(f"{V1}/api-keys/{created['id']}", headers=h)
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    _kind(authed.get(f"{V1}/alerts", headers=_bearer(key)), 401, "key-revoked")
    # a wrong secret with a real prefix is no key at all
    _kind(authed.get(f"{V1}/alerts", headers=_bearer(key[:-4] + "AAAA")), 401, "unauthorized")


def test_an_expired_api_key_is_key_revoked(authed: TestClient) -> None:
    authority = _authority(authed)
    record, key = authority.create_key("pos", role="admin", scopes=["pos:write"], created_by="t", expires_ns=time.time_ns() + 10**9)  # fmt: skip
    assert record.expires_ns is not None
    authority._clock = lambda: record.expires_ns + 1  # type: ignore[method-assign,operator]
    _kind(authed.get(f"{V1}/auth/me", headers=_bearer(key)), 401, "key-revoked")


def test_a_key_is_refused_an_unknown_scope_role_or_a_past_expiry(authed: TestClient) -> None:
    h = _admin(authed)
    for body, field in (
        ({"name": "k", "role": "hq", "scopes": ["everything"]}, "scopes"),
        ({"name": "k", "role": "boss", "scopes": ["read"]}, "role"),
        ({"name": "k", "role": "hq", "scopes": ["read"], "expires_ns": 1}, "expires"),
    ):
        problem = _kind(authed.post(f"{V1}/api-keys", json=body, headers=h), 422, "value-refused")
        assert problem["field"] == field
    _kind(authed.post(f"{V1}/api-keys", json={"name": "k", "role": "hq", "scopes": ["read"], "x": 1}, headers=h), 422, "validation")  # fmt: skip


def test_users_are_managed_by_an_admin(authed: TestClient) -> None:
    h = _admin(authed)
    r = authed.post(f"{V1}/users", json={"name": "tom", "role": "technician", "sites": ["S1"], "password": PASSWORD}, headers=h)  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["has_password"] is True
    assert "password" not in r.json()
    _kind(authed.post(f"{V1}/users", json={"name": "tom", "role": "technician"}, headers=h), 409, "conflict")
    _kind(authed.post(f"{V1}/users", json={"name": "short", "role": "technician", "password": "abc"}, headers=h), 422, "value-refused")  # fmt: skip
    assert [u["name"] for u in authed.get(f"{V1}/users", headers=h).json()] == ["tom"]
    pair = _login(authed, user="tom").json()
    patched = authed.patch(f"{V1}/users/tom", json={"role": "store_manager", "sites": None}, headers=h)
    assert patched.status_code == 200
    assert patched.json()["role"] == "store_manager"
    assert patched.json()["sites"] is None
    # a change of role ends the sign-in's refresh tokens; the access token now carries the new role
    me = authed.get(f"{V1}/auth/me", headers=_bearer(pair["access_token"])).json()
    assert me["role"] == "store_manager"
    assert me["sites"] is None
    refresh = authed.post(f"{V1}/auth/token", data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})  # fmt: skip
    _kind(refresh, 401, "token-invalid")
    authed.patch(f"{V1}/users/tom", json={"password": "another good password"}, headers=h)
    _kind(_login(authed, user="tom"), 401, "unauthorized")
    assert _login(authed, user="tom", password="another good password").status_code == 200
    _kind(authed.patch(f"{V1}/users/nobody", json={"disabled": True}, headers=h), 404, "not-found")


def test_sign_in_without_a_jwt_secret_is_not_found(secured: TestClient) -> None:
    _kind(_login(secured), 404, "not-found")


def test_the_open_api_is_the_local_admin(client: TestClient) -> None:
    me = client.get(f"{V1}/auth/me").json()
    assert me["role"] == "admin"
    assert me["via"] == "open"


def test_the_live_feed_websocket_signs_in_with_a_token_in_its_query(ann: TestClient) -> None:
    """A browser cannot set headers on a WebSocket: the access token comes as
    ``?access_token=`` there, checked like a bearer token, and the feed's rule applies."""
    from starlette.testclient import WebSocketDenialResponse

    token = _login(ann).json()["access_token"]
    with ann.websocket_connect(f"{V1}/feeds/ws?access_token={token}&site=S1&topics=alerts") as ws:
        assert ws.scope is not None  # accepted: a store manager reads alerts of S1
    forged = jwt.encode(_claims(), "another-secret-of-32-characters-at-least", algorithm="HS256")
    for query, status in ((f"access_token={forged}", 401), ("", 401), (f"access_token={token}&site=S2", 403)):
        with (
            pytest.raises(WebSocketDenialResponse) as refused,
            ann.websocket_connect(f"{V1}/feeds/ws?{query}"),
        ):
            pass
        assert refused.value.status_code == status, (query, refused.value.text)


def test_the_live_feed_gives_each_role_the_topics_it_may_read(ann: TestClient) -> None:
    _authority(ann).add_user("tom", role="technician", password=PASSWORD, sites=["S1"])
    tech = _login(ann, "tom").json()["access_token"]
    r = ann.get(f"{V1}/feeds/events", params={"topics": "proposals"}, headers=_bearer(tech))
    _kind(r, 403, "insufficient-role")
    from bohsense.cloud.api.routers.feeds import readable_topics

    assert readable_topics(Principal(subject="tom", role="technician", sites=frozenset({"S1"}))) == {
        "alerts",
        "work_orders",
        "stock",
    }
    assert "alerts" not in readable_topics(Principal(subject="pat", role="planner"))
