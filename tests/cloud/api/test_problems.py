"""One error model: every error answer is an RFC 9457 problem (application/problem+json)
with a stable type per kind, the request's path as instance, and for validation the
offending fields."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.api import create_app
from bohsense.cloud.api._errors import PROBLEM_TYPES
from bohsense.cloud.boh import BohCore

from ..boh.factory import DURATION_S, LIMIT, batch, vib
from .conftest import TOKEN, FakeTimeSeries

V1 = "/api/v1"
BASE = "https://bohsense.dev/problems/"
MEMBERS = {"type", "title", "status", "detail", "instance", "errors"}


def _problem(r: object, status: int, kind: str) -> dict[str, object]:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = r.json()  # type: ignore[attr-defined]
    assert set(body) >= MEMBERS
    assert body["type"] == BASE + kind
    assert body["title"] == PROBLEM_TYPES[kind]
    assert body["status"] == status
    assert body["detail"]
    return body


def test_routing_errors_are_problems(client: TestClient) -> None:
    body = _problem(client.get("/no/such/path"), 404, "not-found")
    assert body["instance"] == "/no/such/path"
    assert body["errors"] == []
    r = client.delete(f"{V1}/alerts")
    body = _problem(r, 405, "method-not-allowed")
    assert body["detail"] == "DELETE is not allowed on /api/v1/alerts"
    assert "GET" in r.headers["allow"]
    body = _problem(client.get(f"{V1}/alerts/42"), 404, "not-found")
    assert body["detail"] == "no alert with id 42"


def test_validation_problems_name_every_bad_field(client: TestClient) -> None:
    body = _problem(client.get(f"{V1}/alerts", params={"limit": 0, "severity": "loud"}), 422, "validation")
    assert body["instance"] == "/api/v1/alerts"
    locs = sorted(e["loc"] for e in body["errors"])  # type: ignore[union-attr]
    assert locs == [["query", "limit"], ["query", "severity"]]
    body = _problem(client.post(f"{V1}/work-orders", json={"nope": 1}), 422, "validation")
    assert ["body", "nope"] in [e["loc"] for e in body["errors"]]  # type: ignore[union-attr]
    body = _problem(client.get(f"{V1}/alerts", params={"state": "sleeping"}), 422, "validation")
    assert body["errors"][0]["loc"] == ["query", "state"]  # type: ignore[index]
    body = _problem(client.get(f"{V1}/events", params={"since": 20, "until": 10}), 422, "validation")
    assert body["errors"][0]["loc"] == ["query", "until"]  # type: ignore[index]


def test_domain_refusals_are_problems_with_their_members(client: TestClient, core: BohCore) -> None:
    core.apply_batches([batch(1, [vib(t, LIMIT + 1) for t in range(0, DURATION_S + 1, 5)])])
    (alert,) = client.get(f"{V1}/alerts").json()
    body = _problem(client.post(f"{V1}/alerts/{alert['id']}/resolve", json={}), 409, "state-conflict")
    assert (body["current"], body["reason"]) == ("open", "condition-active")
    (wo,) = client.get(f"{V1}/work-orders").json()
    assert wo["state"] == "open"
    r = client.post(f"{V1}/work-orders/{wo['id']}/transition", json={"to": "closed"})
    body = _problem(r, 409, "invalid-transition")
    assert (body["current"], body["to"], body["allowed"]) == ("open", "closed", ["cancelled", "in_progress"])


def test_a_missing_or_wrong_token_is_an_unauthorized_problem(secured: TestClient) -> None:
    r = secured.get(f"{V1}/alerts")
    _problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    _problem(secured.get(f"{V1}/alerts", headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
    assert secured.get(f"{V1}/alerts", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_an_unhandled_failure_is_a_500_problem_that_tells_nothing_of_it(
    core: BohCore, tsdb: FakeTimeSeries, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("password=hunter2 at db.internal:5432")

    monkeypatch.setattr(core, "list_alerts", broken)
    app = create_app(core=core, tsdb=tsdb)
    with TestClient(app, raise_server_exceptions=False) as c, caplog.at_level(logging.ERROR):
        r = c.get(f"{V1}/alerts")
    body = _problem(r, 500, "internal")
    assert "hunter2" not in r.text
    assert "RuntimeError" not in r.text
    assert body["instance"] == "/api/v1/alerts"
    assert "hunter2" in caplog.text  # the operator's log has it


def test_every_problem_kind_has_a_stable_uri_documented() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "api.md").read_text()
    for kind in PROBLEM_TYPES:
        assert f"| `{kind}` |" in doc, kind
