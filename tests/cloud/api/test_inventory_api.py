"""GET /inventory/...: zone counts with the snapshot comparison, one item's state and
history, door departures; strict filters and the one error shape."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.api._common import iso_time
from bohsense.cloud.boh import BohCore
from tests.cloud.boh.test_inventory import EPC1, EPC2, GTIN, batch_of, item, rfid_catalog, snapshot

from ..boh.factory import GW, SITE, T0

V1 = "/api/v1"
S = 10**9


@pytest.fixture
def stored(core: BohCore) -> BohCore:
    core.load_catalog(rfid_catalog())
    core.apply_batches([batch_of(1, item(EPC1, T0 + S, zone="backroom"), item(EPC2, T0 + S))])
    core.apply_batches(
        [
            batch_of(
                2,
                item(EPC1, T0 + 2 * S, "moved", "door-1", from_zone="backroom"),
                item(EPC1, T0 + 3 * S, "departed", "door-1"),
                snapshot("floor-1", T0 + 4 * S, {GTIN: 2}),
            )
        ]
    )
    return core


@pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)
def test_zone_counts_item_and_departures_answer_with_their_records(
    client: TestClient, stored: BohCore
) -> None:
    r = client.get(f"{V1}/inventory/zones")
    assert r.status_code == 200, r.text
    assert r.json() == [
        {
            "site": SITE,
            "zone": "floor-1",
            "kind": "floor",
            "items": 1,
            "snapshot": {
                "ts_ns": T0 + 4 * S,
                "gateway": GW,
                "seq": 2,
                "idx": 2,
                "total": 2,
                "received_ns": r.json()[0]["snapshot"]["received_ns"],
                "ts_at": iso_time(T0 + 4 * S),
                "received_at": iso_time(r.json()[0]["snapshot"]["received_ns"]),
            },
            "lines": [{"gtin": GTIN, "sku": "COLA", "items": 1, "snapshot": 2, "difference": 1}],
        }
    ]
    assert client.get(f"{V1}/inventory/zones", params={"zone": "backroom"}).json() == []
    assert [
        z["zone"] for z in client.get(f"{V1}/inventory/zones", params={"sku": "COLA", "site": SITE}).json()
    ] == ["floor-1"]

    r = client.get(f"{V1}/inventory/items/{EPC1.lower()}")  # lower case is read as upper case
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["epc"] == EPC1
    (state,) = body["states"]
    assert {k: state[k] for k in ("site", "zone", "zone_kind", "present", "transition", "sku", "serial")} == {
        "site": SITE,
        "zone": "door-1",
        "zone_kind": "door",
        "present": False,
        "transition": "departed",
        "sku": "COLA",
        "serial": "1",
    }
    assert [(h["seq"], h["idx"], h["transition"]) for h in body["history"]] == [
        (2, 1, "departed"),
        (2, 0, "moved"),
        (1, 0, "arrived"),
    ]
    assert len(client.get(f"{V1}/inventory/items/{EPC1}", params={"history": 1}).json()["history"]) == 1

    r = client.get(f"{V1}/inventory/departures")
    assert r.status_code == 200, r.text
    (d,) = r.json()
    assert (d["epc"], d["zone"], d["ts_ns"], d["sku"], d["sale_matched"]) == (
        EPC1, "door-1", T0 + 3 * S, "COLA", False,
    )  # fmt: skip
    assert client.get(f"{V1}/inventory/departures", params={"since": T0 + 4 * S}).json() == []
    assert len(client.get(f"{V1}/inventory/departures", params={"until": "2100-01-01T00:00:00Z"}).json()) == 1

    changes = client.get(f"{V1}/changes", params={"after": 0, "limit": 1000}).json()
    events = changes["events"] if isinstance(changes, dict) else changes
    (signal,) = [c for c in events if c["kind"] == "inventory.item_departed_unsold"]
    assert (signal["entity"], signal["entity_id"], signal["detail"]["zone"]) == ("rfid_item", EPC1, "door-1")


def test_an_unknown_item_is_404_in_the_one_error_shape(client: TestClient, stored: BohCore) -> None:
    r = client.get(f"{V1}/inventory/items/{'30' + '00' * 11}")
    assert r.status_code == 404, r.text
    assert "rfid item" in r.json()["detail"]
    r = client.get(f"{V1}/inventory/items/{EPC1}", params={"site": "elsewhere"})
    assert r.status_code == 404, r.text


@pytest.mark.parametrize(
    ("path", "params", "said"),
    [
        ("/inventory/items/ABC", {}, "epc"),  # not whole bytes
        ("/inventory/items/3034XZ", {}, "epc"),  # not hex
        (f"/inventory/items/{'AB' * 63}", {}, "epc"),  # over 496 bits
        (f"/inventory/items/{EPC1}", {"history": 0}, "history"),
        (f"/inventory/items/{EPC1}", {"limit": 5}, "unknown query parameter 'limit'"),
        ("/inventory/zones", {"skuu": "COLA"}, "unknown query parameter 'skuu'"),
        ("/inventory/zones", {"sku": "NOPE"}, "not an active SKU"),
        ("/inventory/zones", {"zone": "bad zone"}, "zone"),
        ("/inventory/zones", {"site": ["a", "b"]}, "more than once"),
        ("/inventory/departures", {"since": "yesterday"}, "since"),
        ("/inventory/departures", {"since": T0 + 5, "until": T0}, "since must be before until"),
        ("/inventory/departures", {"limit": 1001}, "limit"),
        ("/inventory/departures", {"zone": "door-1"}, "unknown query parameter 'zone'"),
    ],
)
def test_a_bad_or_unknown_parameter_is_refused_with_the_reason(
    client: TestClient, stored: BohCore, path: str, params: dict[str, object], said: str
) -> None:
    r = client.get(f"{V1}{path}", params=params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert said in body["detail"], body
    assert isinstance(body["errors"], list)


def test_the_catalog_api_takes_and_shows_gtins_and_zones(client: TestClient, stored: BohCore) -> None:
    r = client.put(f"{V1}/catalog/skus/TEA", json={"name": "Tea", "gtin": "80614141123465"})
    assert r.status_code == 200, r.text
    (tea,) = [s for s in client.get(f"{V1}/catalog/skus").json() if s["sku"] == "TEA"]
    assert tea["gtin"] == "80614141123465"
    r = client.put(f"{V1}/catalog/skus/TEA", json={"gtin": "80614141123466"})
    assert r.status_code == 422, r.text
    assert "check digit is 5" in r.json()["detail"]
    r = client.put(f"{V1}/catalog/skus/TEA", json={"gtin": "123"})
    assert r.status_code == 422, r.text
    zones = [{"zone": "floor-1"}, {"zone": "door-1", "kind": "door"}]
    r = client.put(f"{V1}/catalog/sites/{SITE}", json={"name": "Test store", "zones": zones})
    assert r.status_code == 200, r.text
    (site,) = client.get(f"{V1}/catalog/sites").json()
    assert [(z["zone"], z["kind"]) for z in site["zones"]] == [("door-1", "door"), ("floor-1", "floor")]
    r = client.put(f"{V1}/catalog/sites/{SITE}", json={"zones": [{"zone": "roof", "kind": "attic"}]})
    assert r.status_code == 422, r.text
