"""Cursor pagination, the same on every list: ``limit`` and an opaque ``cursor``, the next
page named by a ``Link: <…>; rel="next"`` header; and the ISO 8601 twins of ns times."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from bohsense.cloud.api._common import iso_time
from bohsense.cloud.boh import BohCore
from bohsense.contracts.schema import GatewayStatus

from ..boh.factory import T0

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
