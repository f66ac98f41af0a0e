"""The authorization matrix, generated from the app's routes and ``POLICY``: every
operation called by a signed-in user of every role, by nobody, and by API keys.

A role the rule allows must pass authorization (any answer but 401 and 403; a 404 or 422
for the made-up parameters is fine); every other role must get 403
``insufficient-role``. Nothing but the public operations answers without a credential.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from bohsense.cloud.api import create_app
from bohsense.cloud.api._auth import check_policy, operations
from bohsense.cloud.api._identity import ROLES as API_ROLES
from bohsense.cloud.api._policy import POLICY, policy_table
from bohsense.cloud.boh import BohCore
from bohsense.cloud.identity import ROLES, Authority

from .conftest import PASSWORD, FakeTimeSeries, fast_authority

ROOT = Path(__file__).resolve().parents[3]
PROBLEMS = "https://bohsense.dev/problems/"


@pytest.fixture(scope="module")
def world(
    template_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """One app, one SQLite core; a signed-in user per role (every store) and their tokens."""
    import shutil

    db = tmp_path_factory.mktemp("matrix") / "boh.db"
    shutil.copyfile(template_db, db)
    core = BohCore(f"sqlite:///{db}")
    authority = fast_authority(core)
    for role in ROLES:
        authority.add_user(role, role=role, password=PASSWORD)
    authority.add_user("manager-a", role="store_manager", password=PASSWORD, sites=["A"])
    app = create_app(core=core, tsdb=FakeTimeSeries(), identity=authority, send_command=lambda _c: None)
    with TestClient(app) as client:
        tokens = {}
        for name in (*ROLES, "manager-a"):
            r = client.post(
                "/api/v1/auth/token", data={"grant_type": "password", "username": name, "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            tokens[name] = r.json()["access_token"]
        yield client, tokens
    core.close()


def _calls(client: TestClient) -> list[tuple[str, str, str, APIRoute]]:
    """(operation id, method, path with made-up path parameters, route) of every operation."""
    out = []
    for op, route in sorted(operations(client.app).items()):  # type: ignore[arg-type]
        path = re.sub(r"\{[^}]+\}", "1", route.path_format)
        if not path.startswith("/metrics"):
            path = "/api/v1" + path if not path.startswith("/api/v1") else path
        for method in sorted(route.methods):
            out.append((op, method, path, route))
    return out


#: a stream that never ends (SSE) is asked for with a topic no feed has: a role it admits
#: gets 422 once past the guard, and the answer ends
_ENDLESS = {"/api/v1/feeds/events": {"topics": "no-such-topic"}}


def _call(client: TestClient, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    if path in _ENDLESS and "params" not in kw:
        kw["params"] = _ENDLESS[path]
    return client.request(method, path, headers=headers, **body, **kw)


def _kind(r: Any) -> str:
    if not r.headers.get("content-type", "").startswith("application/problem+json"):
        return ""
    return str(r.json()["type"]).removeprefix(PROBLEMS)


def test_the_roles_of_identity_and_of_the_api_are_one_list() -> None:
    assert tuple(ROLES) == tuple(API_ROLES)


def test_every_route_has_a_rule_and_every_rule_a_route(world: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = world
    assert set(operations(client.app)) == set(POLICY)  # type: ignore[arg-type]
    assert len(POLICY) >= 85


def test_an_app_with_a_route_the_policy_forgot_is_refused(copied_core: BohCore) -> None:
    app = create_app(core=copied_core, tsdb=FakeTimeSeries())

    @app.get("/api/v1/forgotten")
    def forgotten_route() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="forgottenRoute"):
        check_policy(app)


def test_the_matrix_every_operation_by_every_role(world: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = world
    wrong: list[str] = []
    checked = 0
    for op, method, path, _route in _calls(client):
        rule = POLICY[op]
        if rule is None or op == "logout":
            continue
        for role in ROLES:
            r = _call(client, method, path, {"Authorization": f"Bearer {tokens[role]}"})
            checked += 1
            kind = _kind(r)
            if role in rule.roles:
                if r.status_code in (401, 403):
                    wrong.append(f"{op} {method} {path} as {role}: {r.status_code} {kind} (allowed)")
            elif (r.status_code, kind) != (403, "insufficient-role"):
                wrong.append(f"{op} {method} {path} as {role}: {r.status_code} {kind} (not allowed)")
    assert not wrong, "\n".join(wrong)
    assert checked >= 400


def test_nothing_but_the_public_operations_answers_without_a_credential(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, _ = world
    wrong = []
    for op, method, path, _route in _calls(client):
        r = _call(client, method, path, {})
        if POLICY[op] is None:
            if r.status_code in (401, 403):
                wrong.append(f"{op}: public but {r.status_code}")
        elif (r.status_code, _kind(r)) != (401, "unauthorized") or r.headers.get(
            "www-authenticate"
        ) != "Bearer":
            wrong.append(f"{op} {method} {path}: {r.status_code} {_kind(r)} without a credential")
    assert not wrong, "\n".join(wrong)


def test_an_api_key_needs_the_scope_as_well_as_the_role(world: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = world
    authority: Authority = client.app.state.auth.authority  # type: ignore[attr-defined]
    _, read_key = authority.create_key("reader", role="admin", scopes=["read"], created_by="test")
    _, pos_key = authority.create_key("pos", role="admin", scopes=["pos:write"], created_by="test")
    wrong = []
    for op, method, path, _route in _calls(client):
        rule = POLICY[op]
        if rule is None or op in ("logout", "revokeApiKey"):
            continue
        for key, scope in ((read_key, "read"), (pos_key, "pos:write")):
            r = _call(client, method, path, {"Authorization": f"Bearer {key}"})
            allowed = not rule.scope or rule.scope == scope
            refused = (r.status_code, _kind(r)) == (403, "insufficient-role")
            if allowed == refused:
                wrong.append(f"{op} {method} with scope {scope}: {r.status_code} {_kind(r)}")
    assert not wrong, "\n".join(wrong)


def _scoping_in_routers() -> bool:
    """Whether the routers apply store scoping (they read the caller with PrincipalDep)."""
    routers = ROOT / "cloud" / "bohsense" / "cloud" / "api" / "routers"
    own = {"auth.py", "users.py"}
    return any("PrincipalDep" in p.read_text() for p in routers.glob("*.py") if p.name not in own)


#: parameters an operation needs before it looks at its store (valid, or it answers 422)
_NEEDS: dict[str, dict[str, str]] = {
    "series": {"gateway": "gw", "device": "d", "metric": "m", "start": "0", "end": "1000000000"},
    "rollup": {"by": "store"},
    "outageTotals": {"since": "0", "until": "1000000000"},
    "heatmap": {"since": "0", "until": "1000000000"},
}


def test_matrix_other_store(world: tuple[TestClient, dict[str, str]]) -> None:
    """A store manager of store A naming store B (``?site=B``, ``/{site}``) is refused 403
    ``out-of-scope`` by every operation that takes a store and lets store managers in."""
    if not _scoping_in_routers():
        pytest.skip("needs router scoping")
    client, tokens = world
    headers = {"Authorization": f"Bearer {tokens['manager-a']}"}
    wrong = []
    checked = 0
    for op, method, _path, route in _calls(client):
        rule = POLICY[op]
        if rule is None or "store_manager" not in rule.roles:
            continue
        query = {p.name for p in route.dependant.query_params}
        in_path = {p.name for p in route.dependant.path_params}
        if "site" not in query and "site" not in in_path:
            continue
        path = "/api/v1" + re.sub(r"\{site\}", "B", route.path_format)
        path = re.sub(r"\{epc\}", "3034257BF7194E4000001A85", path)  # a valid SGTIN-96
        path = re.sub(r"\{[^}]+\}", "1", path)
        params = {**_NEEDS.get(op, {}), **({"site": "B"} if "site" in query else {})}
        r = _call(client, method, path, headers, params=params)
        checked += 1
        if (r.status_code, _kind(r)) != (403, "out-of-scope"):
            wrong.append(f"{op} {method} {path} {params}: {r.status_code} {_kind(r)}")
    assert not wrong, "\n".join(wrong)
    assert checked >= 20


def test_docs_auth_md_shows_the_policy_table() -> None:
    doc = (ROOT / "docs" / "auth.md").read_text()
    table = policy_table()
    assert table in doc, "docs/auth.md's role table differs from POLICY: paste api._policy.policy_table()"
