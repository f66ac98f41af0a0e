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
    r = client.patch(f"{V1}/replenishment/{pid}", json={"quantity": 48})
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
    r = client.post(f"{V1}/replenishment/{pid}/approve", json={"quantity": 24})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["quantity"]) == ("approved", 24)


def test_unknown_fields_in_the_body_are_refused(client: TestClient, core: BohCore) -> None:
    pid = proposal(client, core)
    r = client.post(f"{V1}/replenishment/{pid}/approve", json={"qty": 24})
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
    assert client.post(f"{V1}/replenishment/{pid}/received", json={}).json()["state"] == "received"
    assert client.post(f"{V1}/replenishment/{pid}/cancel").status_code == 409


def test_an_order_can_be_cancelled(client: TestClient, core: BohCore) -> None:
    pid = proposal(client, core)
    client.post(f"{V1}/replenishment/{pid}/approve")
    client.post(f"{V1}/replenishment/{pid}/ordered")
    r = client.post(f"{V1}/replenishment/{pid}/cancel", json={"note": "supplier out of stock"})
    assert r.json()["state"] == "cancelled"
    assert client.get(f"{V1}/replenishment", params={"state": "cancelled"}).json()[0]["id"] == pid


def test_receipts_close_the_loop_once_per_receipt_id(client: TestClient, core: BohCore) -> None:
    pid = proposal(client, core)  # 36 units
    client.post(f"{V1}/replenishment/{pid}/approve")
    r = client.post(f"{V1}/replenishment/{pid}/receipts", json={"receipt_id": "GRN-1", "quantity": 12})
    assert r.status_code == 409
    assert r.json()["reason"] == "not-ordered"
    client.post(f"{V1}/replenishment/{pid}/ordered")
    r = client.post(f"{V1}/replenishment/{pid}/receipts", json={"receipt_id": "GRN-1", "quantity": 12})
    assert r.status_code == 200, r.text
    assert (r.json()["repeat"], r.json()["proposal"]["received_units"], r.json()["proposal"]["state"]) == (
        False,
        12,
        "ordered",
    )
    again = client.post(f"{V1}/replenishment/{pid}/receipts", json={"receipt_id": "GRN-1", "quantity": 12})
    assert again.json()["repeat"] is True
    assert again.json()["proposal"]["received_units"] == 12
    other = client.post(f"{V1}/replenishment/{pid}/receipts", json={"receipt_id": "GRN-1", "quantity": 6})
    assert other.status_code == 409
    assert other.json()["reason"] == "receipt-id-reused"
    bad = client.post(
        f"{V1}/replenishment/{pid}/receipts", json={"receipt_id": "GRN-2", "quantity": 6, "qty": 1}
    )
    assert bad.status_code == 422
    zero = client.post(f"{V1}/replenishment/{pid}/receipts", json={"receipt_id": "GRN-2", "quantity": 0})
    assert zero.status_code == 422
    assert "must be final" in zero.json()["detail"]
    done = client.post(f"{V1}/replenishment/{pid}/receipts", json={"receipt_id": "GRN-2", "quantity": 24})
    assert done.json()["proposal"]["state"] == "received"
    view = client.get(f"{V1}/replenishment/{pid}/explanation").json()
    assert [x["receipt_id"] for x in view["receipts"]] == ["GRN-1", "GRN-2"]
    assert view["on_order_units"] == 0
    assert view["received_units"] == 36


def test_a_plan_through_the_api_resizes_the_proposal_and_the_explanation_shows_it(
    client: TestClient, core: BohCore
) -> None:
    pid = proposal(client, core)
    assert client.get(f"{V1}/replenishment/{pid}/explanation").json()["explanation"]["source"] == "catalog"
    plan = {
        "site": "store-t1",
        "sku": "COLA",
        "location": "aisle-1/shelf-1",
        "abc": "B",
        "xyz": "Y",
        "service_level": 0.97,
        "lead_time_days": 3,
        "daily_mean": 4.0,
        "lead_time_mean": 12.0,
        "lead_time_var": 20.0,
        "method": "tsb-weekday",
        "as_of_ns": 1,
        "shelf_capacity": 30,
    }
    assert client.put(f"{V1}/replenishment/plans", json=plan).status_code == 204
    view = client.get(f"{V1}/replenishment/{pid}/explanation").json()
    e = view["explanation"]
    assert (e["source"], e["class"], e["forecast"]["method"]) == ("forecast", "BY", "tsb-weekday")
    assert view["quantity"] == 18
    assert e["capped_by_shelf"]
    assert view["revision"] == 1
    assert view["history"][-1]["kind"] == "replenishment_proposal.revised"
    assert client.put(f"{V1}/replenishment/plans", json={**plan, "abc": "D"}).status_code == 422
    assert client.put(f"{V1}/replenishment/plans", json={**plan, "location": "x"}).status_code == 404
    assert client.put(f"{V1}/replenishment/plans", json={**plan, "extra": 1}).status_code == 422
    assert client.get(f"{V1}/replenishment/999/explanation").status_code == 404
