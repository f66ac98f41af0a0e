"""Store scoping of the HTTP API: a caller scoped to some stores reads, exports and changes
only their rows; another store's item is "not found", another store named is refused 403
``out-of-scope``; the acting user of the audit trail is the caller.

The catalog has three stores: the conftest's ``store-t1`` and ``s1`` / ``s2`` here, each
with a gateway, an asset (an alert and its work order), a stock location (a proposal)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.api import create_app
from bohsense.cloud.api._identity import Principal, current_principal
from bohsense.cloud.boh import BohCore, PosBatch, PosLine, PosTransactionIn
from bohsense.cloud.ports import LatestPoint, QuarantineItem
from bohsense.contracts.schema import Reading, ReadingBatch

from ..boh.factory import DURATION_S, LANE_A, LANE_B, LIMIT, T0, VIB, S, catalog, units, vib
from .conftest import FakeTimeSeries

V1 = "/api/v1"
STORES = ("s1", "s2")
GATEWAY = {"s1": "gw-s1", "s2": "gw-s2", "store-t1": "gw-t1"}
MGR = Principal(subject="mgr-s1", role="store_manager", sites=frozenset({"s1"}), via="jwt")


def _store(site: str) -> dict[str, Any]:
    """The factory's store as ``site``: its gateway, asset and stock location renamed."""
    one = catalog(GATEWAY[site])
    (asset,) = one["assets"]
    (loc,) = one["locations"]
    return {
        "sites": [{"id": site, "name": f"Store {site}"}],
        "gateways": [{"id": GATEWAY[site], "site": site}],
        "assets": [{**asset, "id": f"cooler-{site}", "site": site}],
        "locations": [{**loc, "site": site}],
    }


def two_more_stores() -> dict[str, Any]:
    base = catalog()
    for site in STORES:
        for kind, rows in _store(site).items():
            base[kind] = [*base[kind], *rows]
    return base


def _batch(site: str, seq: int, readings: list[Reading]) -> ReadingBatch:
    return ReadingBatch(gateway=GATEWAY[site], seq=seq, sent=T0, readings=readings, floor=0, site=site)


def fill(core: BohCore) -> None:
    """In each store: a confirmed fault (an alert and its work order), an empty shelf (a
    proposal, an outage), a sale in the ledger and a quarantined batch of its gateway."""
    core.load_catalog(two_more_stores())
    for site in (*STORES, "store-t1"):
        gw = GATEWAY[site]
        core.apply_batches([_batch(site, 1, [vib(t, LIMIT + 1) for t in range(0, DURATION_S + 1, 5)])])
        core.apply_batches([_batch(site, 2, [units(LANE_A, 2, 0), units(LANE_B, 2, 0)])])
        sale = PosTransactionIn(
            f"t-{site}", "sale", site, T0, (PosLine(1.0, "COLA", "", "aisle-1/shelf-1", ""),)
        )
        core.record_transactions(PosBatch("till", (sale,)), actor="till")
        core.quarantine([QuarantineItem(f"bohsense/v1/{gw}/readings", b"?", "malformed", "bad", T0, gw)])


@pytest.fixture
def stores(core: BohCore) -> BohCore:
    fill(core)
    return core


def client_as(core: BohCore, tsdb: FakeTimeSeries, principal: Principal | None) -> Iterator[TestClient]:
    """The API on ``core`` as ``principal`` (None: the local administrator)."""
    app = create_app(core=core, tsdb=tsdb)
    if principal is not None:
        app.dependency_overrides[current_principal] = lambda: principal
    with TestClient(app) as c:
        yield c


@pytest.fixture
def mgr(stores: BohCore, tsdb: FakeTimeSeries) -> Iterator[TestClient]:
    """The API as the s1 store manager."""
    yield from client_as(stores, tsdb, MGR)


@pytest.fixture
def hq(stores: BohCore, tsdb: FakeTimeSeries) -> Iterator[TestClient]:
    """The API as the local administrator (every store)."""
    yield from client_as(stores, tsdb, None)


def _sites(rows: list[dict[str, Any]]) -> set[str]:
    return {r["site"] for r in rows}


def _one(client: TestClient, path: str, site: str) -> dict[str, Any]:
    (row,) = [r for r in client.get(f"{V1}{path}", params={"site": site}).json()]
    return row  # type: ignore[no-any-return]


LISTS = ("/alerts", "/work-orders", "/replenishment", "/stock", "/stock/sensed", "/catalog/assets",
         "/catalog/locations", "/gateways", "/work-orders/labels")  # fmt: skip


def test_a_scoped_caller_lists_only_its_stores_rows(mgr: TestClient, hq: TestClient) -> None:
    for path in LISTS:
        everything = hq.get(f"{V1}{path}").json()
        mine = mgr.get(f"{V1}{path}").json()
        if path != "/work-orders/labels":  # no label before a work order is closed
            assert _sites(everything) == {"s1", "s2", "store-t1"}, path
            assert _sites(mine) == {"s1"}, path
        assert mine == [r for r in everything if r["site"] == "s1"], path
    assert [s["id"] for s in mgr.get(f"{V1}/catalog/sites").json()] == ["s1"]
    devices = mgr.get(f"{V1}/devices").json()
    assert devices
    assert {d["gateway"] for d in devices} == {"gw-s1"}
    mine, every = (c.get(f"{V1}/summary").json() for c in (mgr, hq))
    for count in ("alerts", "work_orders", "replenishment_proposals", "stock_locations", "quarantined"):
        assert (mine[count], every[count]) == (1, 3), count
    assert every["devices"] == 3 * mine["devices"] > 0
    assert 0 < mine["audit_entries"] < every["audit_entries"]
    # the explicit filter still works inside the caller's stores
    assert _sites(mgr.get(f"{V1}/alerts", params={"site": "s1"}).json()) == {"s1"}


def test_paging_a_scoped_list_pages_through_its_stores_rows_only(mgr: TestClient) -> None:
    """The scope is in the query, before its limit: one row a page, every page is s1's."""
    seen, url = [], f"{V1}/alerts?limit=1"
    while url:
        r = mgr.get(url)
        seen.extend(r.json())
        url = r.links.get("next", {}).get("url", "")
    assert [a["site"] for a in seen] == ["s1"]
    (alert,) = seen
    assert [w["alert_id"] for w in mgr.get(f"{V1}/work-orders", params={"limit": 1}).json()] == [alert["id"]]


def test_naming_another_store_is_refused_out_of_scope(mgr: TestClient) -> None:
    for path in ("/alerts", "/work-orders", "/replenishment", "/stock", "/catalog/assets", "/events",
                 "/readings/latest", "/stock/sensed", "/alerts/export.csv", "/stock/export.csv"):  # fmt: skip
        r = mgr.get(f"{V1}{path}", params={"site": "s2"})
        assert r.status_code == 403, path
        assert r.json()["type"].endswith("/out-of-scope"), path
        assert "s2" in r.json()["detail"]
    assert mgr.get(f"{V1}/commission/s2/checklist").status_code == 403
    assert mgr.put(f"{V1}/catalog/sites/s2", json={"name": "mine now"}).status_code == 403
    assert mgr.put(f"{V1}/catalog/gateways/gw-new", json={"site": "s2"}).status_code == 403
    sale = {
        "txn_id": "x",
        "kind": "sale",
        "site": "s2",
        "occurred_at": T0,
        "lines": [{"sku": "COLA", "quantity": 1}],
    }
    assert (
        mgr.post(f"{V1}/pos/transactions", json={"sender": "till", "transactions": [sale]}).status_code == 403
    )
    sheet = mgr.post(f"{V1}/commission/s2/import", content=b"x", headers={"content-type": "text/csv"})
    assert sheet.status_code == 403


def test_another_stores_items_are_not_found_and_left_unchanged(mgr: TestClient, hq: TestClient) -> None:
    alert, wo, proposal = (_one(hq, p, "s2") for p in ("/alerts", "/work-orders", "/replenishment"))
    (quarantined,) = hq.get(f"{V1}/quarantine", params={"gateway": "gw-s2"}).json()
    missing = mgr.get(f"{V1}/alerts/999999").json()
    hidden = mgr.get(f"{V1}/alerts/{alert['id']}")
    assert hidden.status_code == 404
    assert (hidden.json()["type"], hidden.json()["title"]) == (missing["type"], missing["title"])
    for method, path, body in (
        ("GET", f"/work-orders/{wo['id']}", None),
        ("GET", f"/work-orders/{wo['id']}/trend", None),
        ("GET", f"/replenishment/{proposal['id']}", None),
        ("GET", f"/replenishment/{proposal['id']}/explanation", None),
        ("GET", "/gateways/gw-s2", None),
        ("GET", "/gateways/gw-s2/commands", None),
        ("POST", f"/alerts/{alert['id']}/acknowledge", {}),
        ("POST", f"/alerts/{alert['id']}/resolve", {}),
        ("POST", f"/work-orders/{wo['id']}/transition", {"to": "in_progress"}),
        ("PATCH", f"/work-orders/{wo['id']}", {"assignee": "me"}),
        ("POST", "/work-orders", {"asset_id": "cooler-s2", "title": "look"}),
        ("PATCH", f"/replenishment/{proposal['id']}", {"quantity": 6}),
        ("POST", f"/replenishment/{proposal['id']}/approve", {}),
        ("POST", f"/replenishment/{proposal['id']}/reject", {}),
        ("POST", "/gateways/gw-s2/commands", {"command": "tare"}),
        ("POST", "/catalog/assets/cooler-s2/retire", {}),
        ("POST", "/catalog/gateways/gw-s2/retire", {}),
        ("PUT", "/catalog/gateways/gw-s2", {"site": "s1"}),
        ("GET", f"/quarantine/{quarantined['id']}/payload", None),
        ("POST", f"/quarantine/{quarantined['id']}/reapply", {}),
    ):
        r = mgr.request(method, f"{V1}{path}", json=body)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["type"].endswith("/not-found"), path
    assert _one(hq, "/alerts", "s2")["state"] == alert["state"]
    assert _one(hq, "/work-orders", "s2")["state"] == wo["state"]
    assert _one(hq, "/replenishment", "s2")["state"] == proposal["state"]
    assert [a["id"] for a in hq.get(f"{V1}/catalog/assets", params={"site": "s2"}).json()] == ["cooler-s2"]


def _csv_sites(client: TestClient, path: str) -> list[str]:
    r = client.get(f"{V1}{path}")
    assert r.status_code == 200, r.text
    return [row["site"] for row in csv.DictReader(io.StringIO(r.text))]


def test_exports_are_scoped_too(mgr: TestClient, hq: TestClient) -> None:
    for path in (
        "/alerts/export.csv",
        "/work-orders/export.csv",
        "/replenishment/export.csv",
        "/stock/export.csv",
    ):
        assert sorted(set(_csv_sites(hq, path))) == ["s1", "s2", "store-t1"], path
        assert set(_csv_sites(mgr, path)) == {"s1"}, path


def test_the_acting_user_is_the_caller_in_the_changes_and_the_audit(mgr: TestClient, hq: TestClient) -> None:
    alert = _one(mgr, "/alerts", "s1")
    r = mgr.post(f"{V1}/alerts/{alert['id']}/acknowledge", json={"note": "on my way"})
    assert r.status_code == 200, r.text
    sent_actor = mgr.post(f"{V1}/alerts/{alert['id']}/resolve", json={"actor": "someone-else"})
    assert sent_actor.status_code == 422  # the body cannot name who acts
    assert sent_actor.json()["errors"][0]["loc"] == ["body", "actor"]
    events = hq.get(f"{V1}/changes", params={"limit": 1000}).json()["events"]
    (ack,) = [e for e in events if e["kind"] == "alert.acknowledged"]
    assert (ack["entity_id"], ack["actor"], ack["detail"]) == (
        str(alert["id"]),
        "mgr-s1",
        {"note": "on my way"},
    )
    audit = mgr.get(f"{V1}/audit", params={"entity": "alert", "entity_id": str(alert["id"])}).json()
    assert [(a["to_state"], a["actor"]) for a in audit] == [("open", "system"), ("acknowledged", "mgr-s1")]


def test_a_scoped_reader_of_the_changes_reads_its_stores_events_only(mgr: TestClient, hq: TestClient) -> None:
    ids = {s: {str(_one(hq, p, s)["id"]) for p in ("/alerts",)} for s in (*STORES, "store-t1")}
    everything = hq.get(f"{V1}/changes", params={"limit": 1000}).json()["events"]
    mine = []
    after = 0
    while True:  # a few at a time: the cursor carries a scoped reader on too
        page = mgr.get(f"{V1}/changes", params={"after": after, "limit": 3}).json()
        if not page["events"]:
            break
        mine.extend(page["events"])
        after = page["next_after"]
    alerts = {e["entity_id"] for e in mine if e["entity"] == "alert"}
    assert alerts == ids["s1"]
    assert {e["entity_id"] for e in mine if e["entity"] == "catalog.site"} == {"s1"}
    assert {e["entity_id"] for e in mine if e["entity"] == "catalog.gateway"} == {"gw-s1"}
    assert not [e for e in mine if e["entity"] == "catalog.sku"]  # about no store: unscoped only
    assert {e["id"] for e in mine} < {e["id"] for e in everything}
    audit = mgr.get(f"{V1}/audit", params={"limit": 1000}).json()
    assert [a["id"] for a in audit] == [e["id"] for e in mine]


# -- every list route, from the route table -------------------------------------------------

#: what a list route needs to be called (required parameters), by path
REQUIRED: dict[str, dict[str, str]] = {
    "/stock/sensed/rollup": {"by": "store"},
    "/stock/outages/totals": {"since": "0", "until": str(T0 + 3600 * S)},
    "/stock/heatmap": {"since": str(T0), "until": str(T0 + 3600 * S)},
}
PATHS = {"gateway_id": "gw-s1"}


def _list_routes() -> list[str]:
    """Every GET whose answer is a JSON array, from the app's routes (as its OpenAPI
    document lists them): a list route added later is checked without a change here."""
    app = create_app(core=BohCore("sqlite://"), tsdb=FakeTimeSeries())
    paths = []
    for path, operations in app.openapi()["paths"].items():
        answer = operations.get("get", {}).get("responses", {}).get("200", {})
        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
        if schema.get("type") == "array":
            paths.append(path.removeprefix(V1).format(**PATHS))
    return sorted(paths)


def test_the_route_table_has_the_lists_this_checks() -> None:
    found = _list_routes()
    assert {"/alerts", "/events", "/readings/latest", "/gateways/gw-s1/commands", "/stock/heatmap"} <= set(
        found
    )
    assert len(found) >= 25


def _site_of(row: dict[str, Any]) -> str | None:
    if "site" in row:
        return row["site"]  # type: ignore[no-any-return]
    if "gateway" in row:
        return {gw: s for s, gw in GATEWAY.items()}.get(row["gateway"], "")
    return None


def test_every_list_route_answers_only_the_callers_stores(
    mgr: TestClient, hq: TestClient, tsdb: FakeTimeSeries
) -> None:
    """Every GET list of the route table, called by the s1 manager: no row of another store
    (by its ``site``, or its gateway's). The same call as HQ shows the data is there."""
    tsdb.points.extend(LatestPoint(GATEWAY[s], VIB, "vib_rms_mm_s", T0, 1.0) for s in (*STORES, "store-t1"))
    leaks, shown = {}, set()
    for path in _list_routes():
        params = {**REQUIRED.get(path, {}), "limit": 1000}
        r = mgr.get(f"{V1}{path}", params=params)
        assert r.status_code == 200, (path, r.text)
        assert isinstance(r.json(), list), path
        others = [row for row in r.json() if _site_of(row) not in (None, "s1")]
        if others:
            leaks[path] = others
        if any(_site_of(row) == "s2" for row in hq.get(f"{V1}{path}", params=params).json()):
            shown.add(path)
    assert leaks == {}
    # the data is there: these lists do show s2's rows to HQ
    assert {"/alerts", "/work-orders", "/replenishment", "/stock", "/stock/sensed", "/stock/outages",
            "/stock/outages/totals", "/pos/ledger", "/quarantine", "/devices", "/gateways",
            "/catalog/assets", "/catalog/locations", "/readings/latest"} <= shown  # fmt: skip


@pytest.mark.parametrize("core", ["postgresql"], indirect=True)
def test_scoped_lists_on_postgresql(mgr: TestClient, hq: TestClient) -> None:
    for path in ("/alerts", "/work-orders", "/replenishment", "/stock", "/quarantine", "/devices"):
        assert _site_of_all(hq.get(f"{V1}{path}").json()) == {"s1", "s2", "store-t1"}, path
        assert _site_of_all(mgr.get(f"{V1}{path}").json()) == {"s1"}, path
    events = mgr.get(f"{V1}/changes", params={"limit": 1000}).json()["events"]
    assert {e["entity_id"] for e in events if e["entity"] == "catalog.site"} == {"s1"}


def _site_of_all(rows: list[dict[str, Any]]) -> set[str | None]:
    return {_site_of(r) for r in rows}
