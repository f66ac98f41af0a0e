"""The catalog over HTTP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.boh import BohCore
from bohsense.contracts.schema import Reading

from ..boh.factory import GW, LANE_A, LANE_B, T0, VIB, batch, units

V1 = "/api/v1"
pytestmark = pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)


def test_the_mapping_lists_unmatched_lanes_and_unmapped_devices(client: TestClient, core: BohCore) -> None:
    core.apply_batches([batch(1, [units(LANE_A, 1, 5), Reading("shelf-01/lane-2", "units", T0, 3.0)])])
    body = client.get(f"{V1}/catalog/mapping").json()
    assert sorted((d["device"], d["kind"]) for d in body["unmatched"]) == [(LANE_B, "lane"), (VIB, "asset")]
    assert [(d["gateway"], d["device"], d["kind"]) for d in body["unmapped"]] == [
        (GW, "shelf-01/lane-2", "unknown")
    ]
    assert client.get(f"{V1}/catalog/mapping", params={"gateway": "nope"}).json() == {
        "unmatched": [],
        "unmapped": [],
    }
    s = client.get(f"{V1}/summary").json()
    assert (s["devices_unmatched"], s["devices_unmapped"]) == (2, 1)


def test_the_catalog_is_managed_through_the_api(client: TestClient, core: BohCore) -> None:
    r = client.put(f"{V1}/catalog/sites/store-t2", json={"name": "Second store"})
    assert (r.status_code, r.json()) == (200, {"kind": "site", "key": "store-t2", "action": "created"})
    assert client.put(f"{V1}/catalog/gateways/gw-t2", json={"site": "store-t2"}).json()["action"] == "created"
    assert (
        client.put(f"{V1}/catalog/skus/TEA", json={"name": "Tea", "pack_size": 12}).json()["action"]
        == "created"
    )
    body = {
        "site": "store-t2",
        "sku": "TEA",
        "location": "aisle-2/shelf-1",
        "min": 12,
        "target": 48,
        "safety_stock": 6,
        "lanes": [{"gateway": "gw-t2", "device": "shelf-20.lane-1"}],
    }
    r = client.put(f"{V1}/catalog/locations", json=body)
    assert r.status_code == 200, r.text
    loc = r.json()
    assert [lane["device"] for lane in loc["lanes"]] == ["shelf-20.lane-1"]
    core.apply_batches([batch(1, [units("shelf-20.lane-1", 1, 5)], gateway="gw-t2")])  # in effect at once
    (level,) = client.get(f"{V1}/stock", params={"site": "store-t2"}).json()
    assert level["units"] == 5.0
    asset = {
        "site": "store-t2",
        "name": "Freezer",
        "gateway": "gw-t2",
        "device": "temp-20",
        "rules": [{"condition": "warm", "metric": "temp_c", "limit": -12, "clear_below": -15}],
    }
    assert client.put(f"{V1}/catalog/assets/freezer-20", json=asset).json()["action"] == "created"
    (a,) = client.get(f"{V1}/catalog/assets", params={"site": "store-t2"}).json()
    assert (a["sensors"], a["rules"][0]["condition"]) == ([{"gateway": "gw-t2", "device": "temp-20"}], "warm")
    assert client.post(f"{V1}/catalog/assets/freezer-20/retire", json={}).json()["action"] == "retired"
    assert client.get(f"{V1}/catalog/assets", params={"site": "store-t2"}).json() == []
    assert client.post(f"{V1}/catalog/locations/{loc['id']}/retire").json()["action"] == "retired"
    assert client.get(f"{V1}/catalog/locations", params={"site": "store-t2", "include_retired": True}).json()[
        0
    ]["retired_ns"]
    audit = client.get(f"{V1}/audit", params={"entity": "catalog.site", "entity_id": "store-t2"}).json()
    assert [(e["to_state"], e["actor"]) for e in audit] == [("active", "api")]


def test_catalog_errors_are_precise(client: TestClient) -> None:
    r = client.put(f"{V1}/catalog/gateways/gw-x", json={"site": "mars"})
    assert (r.status_code, r.json()["detail"]) == (422, "catalog gateway: unknown site 'mars'")
    bad_lane = {
        "site": "store-t1",
        "sku": "COLA",
        "location": "x",
        "min": 1,
        "target": 2,
        "lanes": [{"gateway": GW, "device": "shelf-1/lane-1"}],
    }
    r = client.put(f"{V1}/catalog/locations", json=bad_lane)
    assert r.status_code == 422
    assert "is not a lane" in r.json()["detail"]
    r = client.post(f"{V1}/catalog/skus/COLA/retire")
    assert (r.status_code, r.json()["detail"]) == (
        422,
        "catalog: sku 'COLA' is still used by location store-t1/aisle-1/shelf-1: retire those first",
    )
    assert client.post(f"{V1}/catalog/assets/nope/retire").status_code == 404
    assert client.put(f"{V1}/catalog/skus/TEA", json={"pack": 12}).status_code == 422
    r = client.put(
        f"{V1}/catalog/assets/a1",
        json={"site": "store-t1", "rules": [{"condition": "c", "metric": "m", "limit": 1, "hysteresis": 2}]},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["type"] == "extra_forbidden"


def test_a_sensor_is_unmapped_through_the_api(client: TestClient, core: BohCore) -> None:
    r = client.post(f"{V1}/catalog/devices/retire", json={"gateway": GW, "device": VIB})
    assert r.json() == {"kind": "device", "key": f"{GW}/{VIB}", "action": "retired"}
    (a,) = client.get(f"{V1}/catalog/assets").json()
    assert a["sensors"] == []
