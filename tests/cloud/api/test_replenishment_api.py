"""The planner's side of replenishment over HTTP: quantity, approve with a quantity, order to receipt."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.boh import BohCore

from ..boh.factory import LANE_A, batch, units

V1 = "/api/v1"
pytestmark = pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)


def proposal(client: TestClient, core: BohCore, value: float = 8) -> int:
    core.apply_batches([batch(1, [units(LANE_A, 1, value)])])
    (p,) = client.get(f"{V1}/replenishment").json()
    pid: int = p["id"]
    return pid


def test_patch_sets_the_quantity(client: TestClient, core: BohCore) -> None:
    pid = proposal(client, core)
    r = client.patch(f"{V1}/replenishment/{pid}", json={"quantity": 48, "actor": "planner"})
    assert r.status_code == 200, r.text
    assert (r.json()["quantity"], r.json()["quantity_source"]) == (48, "planner")
    assert client.get(f"{V1}/replenishment/{pid}").json()["quantity"] == 48
    r = client.patch(f"{V1}/replenishment/{pid}", json={"quantity": 50})
    assert r.status_code == 422
    assert r.json()["detail"] == "quantity: 50 is not a whole number of packs of 6"
    assert client.patch(f"{V1}/replenishment/{pid}", json={"quantity": 0}).status_code == 422
    assert client.patch(f"{V1}/replenishment/{pid}", json={}).status_code == 422
    assert client.patch(f"{V1}/replenishment/999", json={"quantity": 6}).status_code == 404


def test_a_quantity_in_the_approve_body_is_honoured(client: TestClient, core: BohCore) -> None:
    pid = proposal(client, core)
    r = client.post(f"{V1}/replenishment/{pid}/approve", json={"actor": "mgr", "quantity": 24})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["quantity"]) == ("approved", 24)


def test_unknown_fields_in_the_body_are_refused(client: TestClient, core: BohCore) -> None:
    pid = proposal(client, core)
    r = client.post(f"{V1}/replenishment/{pid}/approve", json={"actor": "mgr", "qty": 24})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "qty"]
    assert client.get(f"{V1}/replenishment/{pid}").json()["state"] == "proposed"


def test_ordered_then_received_and_no_duplicate_in_between(client: TestClient, core: BohCore) -> None:
    pid = proposal(client, core)
    client.post(f"{V1}/replenishment/{pid}/approve")
    assert client.post(f"{V1}/replenishment/{pid}/ordered").json()["state"] == "ordered"
    core.apply_batches([batch(2, [units(LANE_A, 2, 8)])])
    assert len(client.get(f"{V1}/replenishment").json()) == 1
    assert client.patch(f"{V1}/replenishment/{pid}", json={"quantity": 6}).status_code == 409
    assert (
        client.post(f"{V1}/replenishment/{pid}/received", json={"actor": "store"}).json()["state"]
        == "received"
    )
    assert client.post(f"{V1}/replenishment/{pid}/cancel").status_code == 409


def test_an_order_can_be_cancelled(client: TestClient, core: BohCore) -> None:
    pid = proposal(client, core)
    client.post(f"{V1}/replenishment/{pid}/approve")
    client.post(f"{V1}/replenishment/{pid}/ordered")
    r = client.post(f"{V1}/replenishment/{pid}/cancel", json={"note": "supplier out of stock"})
    assert r.json()["state"] == "cancelled"
    assert client.get(f"{V1}/replenishment", params={"state": "cancelled"}).json()[0]["id"] == pid
