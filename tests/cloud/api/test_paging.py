"""Cursor pagination, the same on every list: ``limit`` and an opaque ``cursor``, the next
page named by a ``Link: <…>; rel="next"`` header; and the ISO 8601 twins of ns times."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from bohsense.cloud.api._common import iso_time
from bohsense.cloud.boh import BohCore
from bohsense.contracts.schema import GatewayStatus

from ..boh.factory import GW, LANE_A, SITE, T0, batch, catalog, units

V1 = "/api/v1"
_NEXT = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def _walk(client: TestClient, path: str, **params: object) -> tuple[list[dict[str, object]], int]:
    """Every row of a list, following its Link headers; and the number of pages."""
    r = client.get(V1 + path, params=params)
    rows, pages = [], 0
    while True:
        assert r.status_code == 200, r.text
        pages += 1
        rows.extend(r.json())
        link = r.headers.get("link")
        if link is None:
            return rows, pages
        m = _NEXT.match(link)
        assert m, link
        r = client.get(m["url"])


def _gateways(core: BohCore, n: int) -> None:
    for i in range(n):
        core.record_status(GatewayStatus(gateway=f"gw-p{i:02d}", state="online", ts=T0 + i, version="1"))


def test_a_list_pages_through_every_row_once_by_its_link_header(client: TestClient, core: BohCore) -> None:
    _gateways(core, 7)
    everything = client.get(f"{V1}/gateways", params={"limit": 1000}).json()
    assert "link" not in client.get(f"{V1}/gateways", params={"limit": 1000}).headers  # one page: no next
    rows, pages = _walk(client, "/gateways", limit=3)
    assert rows == everything
    assert len({r["id"] for r in rows}) == len(rows) >= 7
    assert pages == -(-len(rows) // 3)
    # the filters travel with the cursor
    rows, pages = _walk(client, "/stock", limit=1, site="store-t1")
    assert rows == client.get(f"{V1}/stock", params={"site": "store-t1"}).json()
    assert pages == len(rows) >= 1
    assert {r["site"] for r in rows} == {"store-t1"}
    registration = everything[0]["registration"]  # one of the reporting gateways
    rows, pages = _walk(client, "/gateways", limit=2, registration=registration)
    assert rows == [g for g in everything if g["registration"] == registration]
    assert pages == -(-len(rows) // 2) >= 2


def test_a_cursor_is_refused_under_other_filters_or_when_forged(client: TestClient, core: BohCore) -> None:
    _gateways(core, 3)
    link = client.get(f"{V1}/gateways", params={"limit": 1}).headers["link"]
    cursor = re.search(r"cursor=([A-Za-z0-9_-]+)", link)[1]  # type: ignore[index]
    assert client.get(f"{V1}/gateways", params={"cursor": cursor, "limit": 2}).status_code == 200
    for params in (
        {"cursor": cursor, "site": "store-t1"},
        {"cursor": "bm90LWEtY3Vyc29y"},
        {"cursor": "AAAA"},
    ):
        r = client.get(f"{V1}/gateways", params=params)
        assert r.status_code == 422, params
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["type"] == "https://bohsense.dev/problems/invalid-cursor"
        assert body["errors"][0]["loc"] == ["query", "cursor"]
    r = client.get(f"{V1}/devices", params={"cursor": cursor})  # another list's cursor
    assert r.status_code == 422
    assert "other filters or another list" in r.json()["detail"]


def test_an_unknown_filter_on_a_list_is_a_validation_problem(client: TestClient) -> None:
    for path in ("/gateways", "/stock", "/alerts", "/work-orders", "/replenishment"):
        r = client.get(V1 + path, params={"offset": 10})
        assert r.status_code == 422, path
        assert r.json()["type"] == "https://bohsense.dev/problems/validation"
        assert r.json()["errors"] == [
            {"loc": ["query", "offset"], "msg": "unknown query parameter", "type": "extra_forbidden"}
        ]


def test_every_ns_time_has_its_iso_8601_twin(client: TestClient, core: BohCore) -> None:
    core.record_status(
        GatewayStatus(gateway="gw-iso", state="online", ts=1_750_000_000_123_456_789, version="1")
    )
    (gw,) = [g for g in client.get(f"{V1}/gateways").json() if g["id"] == "gw-iso"]
    assert gw["last_status_ns"] == 1_750_000_000_123_456_789
    assert gw["last_status_at"] == "2025-06-15T15:06:40.123456Z"
    assert iso_time(None) is None
    doc = client.get("/openapi.json").json()
    twin = doc["components"]["schemas"]["Gateway"]["properties"]["last_status_at"]
    assert twin["anyOf"][0] == {"type": "string", "format": "date-time"}
    schemas = doc["components"]["schemas"]
    assert schemas["LatestPoint"]["properties"]["at"]["format"] == "date-time"  # a reading's ts
    assert "start_at" in schemas["Series"]["required"]


def test_stock_sorts_by_a_field_nulls_last_and_refuses_another(client: TestClient, core: BohCore) -> None:
    more = catalog()
    more["skus"] += [{"sku": s, "name": s, "unit": "can", "pack_size": 6} for s in ("TEA", "WATER", "JUICE")]
    more["locations"] += [
        {"site": SITE, "sku": s, "location": f"aisle-2/shelf-{i}", "min": 1, "target": 9, "safety_stock": 1,
         "lanes": [{"gateway": GW, "device": f"shelf-0{i + 2}.lane-1"}]}
        for i, s in enumerate(("TEA", "WATER", "JUICE"))
    ]  # fmt: skip
    core.load_catalog(more)
    core.apply_batches(
        [batch(1, [units(LANE_A, 1, 8), units("shelf-02.lane-1", 1, 3), units("shelf-03.lane-1", 1, 12)])]
    )
    rows = client.get(f"{V1}/stock").json()
    counted = [r for r in rows if r["units"] is not None]
    assert len(counted) >= 2
    assert len(counted) < len(rows)  # some locations not counted yet: nulls go last
    for sort, reverse in (("units", False), ("-units", True)):
        got = client.get(f"{V1}/stock", params={"sort": sort}).json()
        assert [r["units"] for r in got] == sorted((r["units"] for r in counted), reverse=reverse) + [
            None
        ] * (len(rows) - len(counted))
    # sorted, then paged: the pages follow the order
    walked, _ = _walk(client, "/stock", sort="-units", limit=1)
    assert walked == client.get(f"{V1}/stock", params={"sort": "-units"}).json()
    r = client.get(f"{V1}/stock", params={"sort": "colour"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "sort"]
