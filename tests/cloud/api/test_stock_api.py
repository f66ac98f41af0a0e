"""POST /pos/transactions and GET /pos/ledger, GET /stock/sensed, /stock/outages,
/stock/heatmap, and the departures' sold/unsold: the bodies, the errors naming the bad line,
nothing partial applied, duplicates reported, strict filters."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.boh import BohCore
from tests.cloud.boh.test_inventory import EPC1, EPC2, GTIN, batch_of, item
from tests.cloud.boh.test_stock_truth import LANE_A, LANE_B, LOC, pick, restock, state, stock_catalog

from ..boh.factory import SITE, T0

V1 = "/api/v1"
S = 10**9
H = 3600 * S


@pytest.fixture
def stocked(core: BohCore) -> BohCore:
    core.load_catalog(stock_catalog())
    return core


def line(**kw: Any) -> dict[str, Any]:
    return {"sku": "COLA", "quantity": 1, **kw}


def txn(
    txn_id: str, *lines: dict[str, Any], kind: str = "sale", at: Any = "2026-12-01T10:00:00Z"
) -> dict[str, Any]:
    return {"txn_id": txn_id, "kind": kind, "site": SITE, "occurred_at": at, "lines": list(lines) or [line()]}


def body(*txns: dict[str, Any], sender: str = "till-1") -> dict[str, Any]:
    return {"sender": sender, "transactions": list(txns)}


@pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)
def test_a_batch_is_applied_once_and_a_repeat_is_reported_duplicate(
    client: TestClient, stocked: BohCore
) -> None:
    r = client.post(
        f"{V1}/pos/transactions",
        json=body(txn("r1", line(quantity=24), kind="receipt"), txn("s1", line(quantity=2, location=LOC))),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "applied": 2,
        "duplicates": 0,
        "results": [
            {"txn_id": "r1", "status": "applied", "lines": [{"sku": "COLA", "location": LOC, "quantity": 24.0, "balance_after": 24.0}]},
            {"txn_id": "s1", "status": "applied", "lines": [{"sku": "COLA", "location": LOC, "quantity": -2.0, "balance_after": 22.0}]},
        ],
    }  # fmt: skip
    again = client.post(
        f"{V1}/pos/transactions", json=body(txn("s1"), txn("s2", line(gtin=GTIN, sku=""), at=T0))
    )
    assert again.status_code == 200, again.text
    assert (again.json()["applied"], again.json()["duplicates"]) == (1, 1)
    assert [x["status"] for x in again.json()["results"]] == ["duplicate", "applied"]
    ledger = client.get(f"{V1}/pos/ledger", params={"site": SITE, "kind": "sale"}).json()
    assert [(x["txn_id"], x["quantity"], x["balance_after"]) for x in ledger] == [
        ("s2", -1, 21),
        ("s1", -2, 22),
    ]
    assert ledger[0]["occurred_ns"] == T0
    (sensed,) = client.get(f"{V1}/stock/sensed", params={"site": SITE}).json()
    assert (sensed["book_units"], sensed["units"], sensed["level"]) == (21, None, "unknown")


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (txn("x", line(sku="NOPE")), "transactions[1].lines[0].sku"),
        (txn("x", line(location="aisle-9/shelf-9")), "transactions[1].lines[0].location"),
        (txn("x", line(), line(quantity=-1)), "transactions[1].lines[1].quantity"),
        (txn("x", line(quantity=-4), kind="receipt"), "transactions[1].lines[0].quantity"),
        ({**txn("x"), "site": "store-nope"}, "transactions[1].site"),
        (txn("ok"), "transactions[1].txn_id"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_applied(
    client: TestClient, stocked: BohCore, bad: dict[str, Any], field: str
) -> None:
    r = client.post(f"{V1}/pos/transactions", json=body(txn("ok"), bad))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert field in r.json()["detail"]
    assert client.get(f"{V1}/pos/ledger").json() == []
    assert client.post(f"{V1}/pos/transactions", json=body(txn("ok"))).json()["applied"] == 1


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"{not json", None),
        (b'{"sender": "till-1"}', ["body", "transactions"]),
        (b'{"sender": "till-1", "transactions": [], "extra": 1}', ["body", "transactions"]),
        (b'{"sender": "till-1", "transactions": [{"txn_id": "a", "kind": "sale", "site": "store-t1", "occurred_at": "2026-12-01T10:00:00Z", "lines": [{"sku": "COLA", "quantity": 1, "colour": "red"}]}]}', ["body", "transactions", 0, "lines", 0, "colour"]),
        (b'{"sender": "till-1", "transactions": [{"txn_id": "a", "kind": "refund", "site": "store-t1", "occurred_at": 1, "lines": [{"sku": "COLA", "quantity": 1}]}]}', ["body", "transactions", 0, "kind"]),
        (b'{"sender": "till-1", "transactions": [{"txn_id": "a", "kind": "sale", "site": "store-t1", "occurred_at": 1, "lines": [{"sku": "COLA", "quantity": "1"}]}]}', ["body", "transactions", 0, "lines", 0, "quantity"]),
    ],
)  # fmt: skip
def test_a_malformed_body_is_refused_with_the_field(
    client: TestClient, stocked: BohCore, raw: bytes, where: list[Any] | None
) -> None:
    r = client.post(f"{V1}/pos/transactions", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    if where is not None:
        assert any(e["loc"][: len(where)] == where for e in r.json()["errors"]), r.json()
    assert client.get(f"{V1}/pos/ledger").json() == []


def test_a_time_without_zone_is_refused_naming_the_transaction(client: TestClient, stocked: BohCore) -> None:
    r = client.post(f"{V1}/pos/transactions", json=body(txn("a", at="2026-12-01T10:00:00")))
    assert r.status_code == 422
    assert "transactions[0].occurred_at" in r.json()["detail"]


@pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)
def test_sensed_stock_outages_and_heat_map_answer_with_their_records(
    client: TestClient, stocked: BohCore
) -> None:
    day = T0 - T0 % (24 * H)
    t1 = day + 9 * H
    stocked.apply_batches(
        [batch_of(1, state(LANE_A, t1 - H, "stable", 2), state(LANE_B, t1 - H, "fault", reason="dead"))]
    )
    (s,) = client.get(f"{V1}/stock/sensed").json()
    assert (s["units"], s["trusted"], s["level"], s["source"]) == (None, False, "untrusted", "weight")
    assert [(x["device"], x["state"], x["reason"]) for x in s["lanes"]] == [
        (LANE_A, "stable", ""),
        (LANE_B, "fault", "dead"),
    ]
    stocked.apply_batches([batch_of(2, state(LANE_B, t1 - H + S, "stable", 0))])
    stocked.apply_batches([batch_of(3, pick(LANE_A, t1, 2, 0))])
    stocked.apply_batches([batch_of(4, restock(LANE_A, t1 + 90 * 60 * S, 12, 12))])
    (s,) = client.get(f"{V1}/stock/sensed", params={"sku": "COLA"}).json()
    assert (s["units"], s["trusted"], s["level"], s["aisle"], s["shelf"]) == (
        12,
        True,
        "in_stock",
        "aisle-1",
        "shelf-1",
    )
    (shelf,) = client.get(f"{V1}/stock/sensed/rollup", params={"by": "shelf"}).json()
    assert (shelf["aisle"], shelf["shelf"], shelf["units"], shelf["locations"]) == (
        "aisle-1",
        "shelf-1",
        12,
        1,
    )
    (store,) = client.get(f"{V1}/stock/sensed/rollup", params={"by": "store", "site": SITE}).json()
    assert (store["sku"], store["units"], store["trusted"]) == ("COLA", 12, True)
    assert client.get(f"{V1}/stock/sensed/rollup", params={"by": "aisle"}).status_code == 422
    (o,) = client.get(f"{V1}/stock/outages", params={"site": SITE, "since": str(day)}).json()
    assert (o["started_ns"], o["ended_ns"], o["duration_s"]) == (t1, t1 + 90 * 60 * S, 5400)
    assert client.get(f"{V1}/stock/outages", params={"open": "true"}).json() == []
    (tot,) = client.get(f"{V1}/stock/outages/totals", params={"since": str(day), "until": str(t1 + H)}).json()
    assert (tot["site"], tot["sku"], tot["outages"], tot["oos_s"], tot["open_now"]) == (
        SITE,
        "COLA",
        1,
        3600,
        0,
    )
    cells = client.get(f"{V1}/stock/heatmap", params={"since": str(day), "until": str(day + 24 * H)}).json()
    assert [(c["hour_ns"] - day, c["oos_minutes"]) for c in cells] == [(9 * H, 60.0), (10 * H, 30.0)]
    assert cells[0]["aisle"] == "aisle-1"


def test_the_stock_endpoints_refuse_unknown_or_bad_filters(client: TestClient, stocked: BohCore) -> None:
    for path, params in [
        ("/stock/sensed", {"store": SITE}),
        ("/stock/outages", {"sku": "COLA", "open_only": "true"}),
        ("/stock/heatmap", {"since": "0"}),
        ("/stock/heatmap", {"since": "10", "until": "5"}),
        ("/stock/heatmap", {"since": "0", "until": str(40 * 24 * H)}),
        ("/pos/ledger", {"kind": "theft"}),
    ]:
        r = client.get(f"{V1}{path}", params=params)
        assert r.status_code == 422, (path, params, r.text)


def test_departures_say_sold_or_unsold(client: TestClient, stocked: BohCore) -> None:
    assert client.post(f"{V1}/pos/transactions", json=body(txn("s1", at=T0 + 50 * S))).status_code == 200
    stocked.apply_batches([batch_of(1, item(EPC1, T0 + S), item(EPC2, T0 + S))])
    stocked.apply_batches(
        [
            batch_of(
                2, item(EPC1, T0 + 60 * S, "departed", "door-1"), item(EPC2, T0 + 2 * H, "departed", "door-1")
            )
        ]
    )
    deps = {d["epc"]: d for d in client.get(f"{V1}/inventory/departures").json()}
    assert (deps[EPC1]["sale_matched"], deps[EPC1]["sale_txn"]) == (True, "till-1/s1")
    assert (deps[EPC2]["sale_matched"], deps[EPC2]["sale_txn"]) == (False, None)
