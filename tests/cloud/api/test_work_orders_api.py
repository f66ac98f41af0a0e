"""Work orders over HTTP: the technician's fields kept, unknown fields refused, by hand, by site,
and the alert <-> work order lifecycle."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.boh import BohCore

from ..boh.factory import CLEAR, DURATION_S, LIMIT, batch, vib

V1 = "/api/v1"
pytestmark = pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)


def fault(core: BohCore) -> None:
    core.apply_batches([batch(1, [vib(t, LIMIT + 1) for t in range(0, DURATION_S + 1, 5)])])


def clear(core: BohCore) -> None:
    core.apply_batches([batch(2, [vib(t, CLEAR - 1) for t in range(40, 40 + DURATION_S + 1, 5)])])


def test_the_technicians_fields_are_kept(client: TestClient, core: BohCore) -> None:
    fault(core)
    (wo,) = client.get(f"{V1}/work-orders").json()
    body = {
        "assignee": "tech-7",
        "priority": "urgent",
        "due_ns": 1_800_000_000_000_000_000,
        "root_cause": "worn bearing",
        "resolution_code": "replaced-part",
        "add_parts": [{"part": "bearing 6204-2RS", "quantity": 1}],
        "add_labour": [{"technician": "tech-7", "hours": 2.5}],
        "add_attachments": [{"uri": "https://files.example.com/wo/1/noise.wav", "name": "noise.wav"}],
        "note": "bearing replaced, running quiet",
    }
    r = client.patch(f"{V1}/work-orders/{wo['id']}", json=body)
    assert r.status_code == 200, r.text
    got = client.get(f"{V1}/work-orders/{wo['id']}").json()
    assert (got["assignee"], got["priority"], got["due_ns"]) == (
        "tech-7",
        "urgent",
        1_800_000_000_000_000_000,
    )
    assert (got["root_cause"], got["resolution_code"]) == ("worn bearing", "replaced-part")
    assert got["parts"] == [{"part": "bearing 6204-2RS", "quantity": 1.0, "unit": "each", "note": ""}]
    assert (got["labour"][0]["technician"], got["labour"][0]["hours"]) == ("tech-7", 2.5)
    assert got["attachments"][0]["uri"] == "https://files.example.com/wo/1/noise.wav"
    assert [n["text"] for n in got["notes"]] == ["bearing replaced, running quiet"]
    assert (
        client.patch(f"{V1}/work-orders/{wo['id']}", json={"due_ns": None, "clear_due": True}).json()[
            "due_ns"
        ]
        is None
    )


@pytest.mark.parametrize(
    "body",
    [
        {"assigne": "tech-7"},
        {"parts": [{"part": "x", "quantity": 1}]},
        {"add_parts": [{"part": "x", "quantity": 1, "serial": "7"}]},
        {"labor": 1},
    ],
    ids=["typo", "wrong-name", "nested", "labor"],
)
def test_unknown_fields_are_refused_and_nothing_changes(
    client: TestClient, core: BohCore, body: dict[str, object]
) -> None:
    fault(core)
    (wo,) = client.get(f"{V1}/work-orders").json()
    r = client.patch(f"{V1}/work-orders/{wo['id']}", json=body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["type"] == "extra_forbidden"
    assert client.get(f"{V1}/work-orders/{wo['id']}").json() == wo
    r = client.post(f"{V1}/work-orders/{wo['id']}/transition", json={"to": "in_progress", "assignee": "x"})
    assert r.status_code == 422
    assert client.get(f"{V1}/work-orders/{wo['id']}").json()["state"] == "open"


def test_bad_values_are_refused(client: TestClient, core: BohCore) -> None:
    fault(core)
    (wo,) = client.get(f"{V1}/work-orders").json()
    url = f"{V1}/work-orders/{wo['id']}"
    assert client.patch(url, json={"priority": "asap"}).status_code == 422
    assert client.patch(url, json={"add_parts": [{"part": "x", "quantity": 0}]}).status_code == 422
    assert client.patch(url, json={"add_attachments": [{"uri": "no scheme"}]}).status_code == 422
    assert client.patch(url, json={"due_ns": -1}).status_code == 422


def test_a_work_order_by_hand(client: TestClient) -> None:
    body = {
        "asset_id": "cooler-1",
        "title": "Quarterly coil cleaning",
        "kind": "preventive",
    }
    r = client.post(f"{V1}/work-orders", json=body)
    assert r.status_code == 201, r.text
    wo = r.json()
    assert (wo["alert_id"], wo["site"], wo["state"], wo["kind"]) == (None, "store-t1", "open", "preventive")
    assert client.post(f"{V1}/work-orders", json={**body, "asset_id": "nope"}).status_code == 404
    assert client.post(f"{V1}/work-orders", json={**body, "title": ""}).status_code == 422
    assert client.post(f"{V1}/work-orders", json={**body, "alert": 3}).status_code == 422


def test_work_orders_filtered_by_site(client: TestClient, core: BohCore) -> None:
    fault(core)
    assert len(client.get(f"{V1}/work-orders", params={"site": "store-t1"}).json()) == 1
    assert client.get(f"{V1}/work-orders", params={"site": "store-other"}).json() == []


def test_closing_the_work_order_resolves_the_alert_once_the_condition_cleared(
    client: TestClient, core: BohCore
) -> None:
    fault(core)
    (wo,) = client.get(f"{V1}/work-orders").json()
    url = f"{V1}/work-orders/{wo['id']}/transition"
    for to in ("in_progress", "done"):
        assert client.post(url, json={"to": to}).status_code == 200
    r = client.post(url, json={"to": "closed"})
    assert (r.status_code, r.json()["reason"], r.json()["current"]) == (409, "condition-active", "done")
    r = client.post(f"{V1}/alerts/{wo['alert_id']}/resolve")
    assert (r.status_code, r.json()["reason"]) == (409, "condition-active")
    clear(core)
    assert client.post(url, json={"to": "closed"}).json()["state"] == "closed"
    assert client.get(f"{V1}/alerts/{wo['alert_id']}").json()["state"] == "resolved"
