"""Every endpoint of the HTTP API, with its 404 / 409 / 422 / 401 answers."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from bohsense.cloud.api import create_app
from bohsense.cloud.api._paging import _encode, _fingerprint
from bohsense.cloud.boh import BohCore
from bohsense.cloud.ports import LatestPoint, QuarantineItem
from bohsense.contracts.schema import GatewayStatus

from ..boh.factory import CLEAR, DURATION_S, GW, LANE_A, LANE_B, LIMIT, T0, S, batch, units, vib
from .conftest import TOKEN, FakeTimeSeries

V1 = "/api/v1"


def fault(core: BohCore) -> None:
    core.apply_batches([batch(1, [vib(t, LIMIT + 1) for t in range(0, DURATION_S + 1, 5)])])


def clear(core: BohCore, seq: int = 9) -> None:
    """The fault is fixed: the value stays below clear_below for the minimum duration."""
    core.apply_batches([batch(seq, [vib(t, CLEAR - 1) for t in range(40, 40 + DURATION_S + 1, 5)])])


def low_stock(core: BohCore, seq: int = 2) -> None:
    core.apply_batches([batch(seq, [units(LANE_A, seq, 1)])])


def test_openapi_is_served_and_lists_the_endpoints(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path in (
        "/health", "/gateways", "/devices", "/readings/latest", "/readings/series", "/stock", "/alerts",
        "/alerts/{alert_id}/acknowledge", "/alerts/{alert_id}/resolve", "/work-orders",
        "/work-orders/{work_order_id}/transition", "/replenishment", "/replenishment/{proposal_id}/approve",
        "/replenishment/{proposal_id}/reject", "/audit", "/quarantine", "/summary",
    ):  # fmt: skip
        assert V1 + path in doc["paths"], path


def test_health_reports_db_tsdb_and_ingest(client: TestClient, tsdb: FakeTimeSeries) -> None:
    r = client.get(f"{V1}/health")
    assert r.status_code == 200
    assert r.json() == {
        "ok": True,
        "db": True,
        "tsdb": True,
        "tsdb_error": None,
        "ingest": {"readings": 7, "quarantined": 0},
        "ingest_problems": [],
    }
    tsdb.broken = True
    r = client.get(f"{V1}/health")
    assert r.status_code == 503
    assert r.json()["tsdb_error"] == "ConnectionError: influx down"
    assert r.json()["db"] is True


def test_health_is_503_with_the_reason_when_the_pipeline_reports_a_problem(
    core: BohCore, tsdb: FakeTimeSeries
) -> None:
    problem = "oldest unacknowledged message waits for 75.0 s (118 pending)"
    app = create_app(core=core, tsdb=tsdb, stats=lambda: {"readings": 7, "problems": [problem]})
    with TestClient(app) as c:
        r = c.get(f"{V1}/health")
    assert r.status_code == 503
    assert (r.json()["ok"], r.json()["db"], r.json()["tsdb"]) == (False, True, True)
    assert r.json()["ingest_problems"] == [problem]


def test_liveness_readiness_and_version_probes(core: BohCore, tsdb: FakeTimeSeries) -> None:
    ingest = {"subscribed": True}
    app = create_app(
        core=core, tsdb=tsdb, stats=lambda: dict(ingest), api_token="probe-token-0123456789abcdefXYZ"
    )
    with TestClient(app) as c:
        assert (c.get(f"{V1}/healthz").status_code, c.get(f"{V1}/healthz").json()) == (200, {"alive": True})
        r = c.get(f"{V1}/readyz")  # no token needed, like /health
        assert (r.status_code, r.json()) == (
            200, {"ready": True, "checks": {"database": True, "tsdb": True, "broker": True}, "not_ready": []},
        )  # fmt: skip
        ingest["subscribed"] = False
        tsdb.broken = True
        r = c.get(f"{V1}/readyz")
        assert r.status_code == 503
        assert r.json()["not_ready"] == ["broker", "tsdb"]
        tsdb.broken = False
        ingest["subscribed"] = True
        assert c.get(f"{V1}/readyz").status_code == 200
        tsdb.broken = True
        assert c.get(f"{V1}/healthz").status_code == 200  # alive though not ready
        v = c.get(f"{V1}/version").json()
        assert v["api"] == "1"
        assert v["distributions"]["bohsense-cloud"]
        assert c.get(f"{V1}/readyz?verbose=1").status_code == 422


def test_gateways_and_devices(client: TestClient, core: BohCore) -> None:
    core.record_status(GatewayStatus(gateway=GW, state="online", ts=T0, version="0.1"))
    core.apply_batches([batch(1)])
    (gw,) = client.get(f"{V1}/gateways").json()
    assert (gw["id"], gw["state"], gw["watermark"], gw["version"]) == (GW, "online", 1, "0.1")
    assert client.get(f"{V1}/gateways", params={"site": "elsewhere"}).json() == []
    assert client.get(f"{V1}/gateways/{GW}").json()["id"] == GW
    assert client.get(f"{V1}/gateways/nope").status_code == 404
    devices = client.get(f"{V1}/devices", params={"gateway": GW}).json()
    assert {d["device"]: d["kind"] for d in devices} == {
        "vib-01": "asset",
        LANE_A: "lane",
        LANE_B: "lane",
        "unmapped-dev": "unknown",
    }
    assert len(client.get(f"{V1}/devices", params={"kind": "lane", "limit": 1}).json()) == 1
    assert client.get(f"{V1}/devices", params={"limit": 0}).status_code == 422


def test_latest_readings_pass_filters_to_the_store(client: TestClient, tsdb: FakeTimeSeries) -> None:
    tsdb.points = [
        LatestPoint(GW, "vib-01", "vib_rms_mm_s", T0, 3.5),
        LatestPoint(GW, "t-1", "temp_c", T0, 4.0),
    ]
    r = client.get(f"{V1}/readings/latest", params={"device": "vib-01"})
    assert r.json() == [
        {
            "gateway": GW,
            "device": "vib-01",
            "metric": "vib_rms_mm_s",
            "ts": T0,
            "value": 3.5,
            "at": "2025-06-15T15:06:40.000000Z",
        }
    ]
    assert tsdb.calls[-1] == ("latest", {"gateways": None, "device": "vib-01", "metric": None})
    assert len(client.get(f"{V1}/readings/latest").json()) == 2


def test_series_accepts_iso_and_ns(client: TestClient, tsdb: FakeTimeSeries) -> None:
    tsdb.points = [LatestPoint(GW, "vib-01", "vib_rms_mm_s", T0 + i * S, float(i)) for i in range(5)]
    r = client.get(
        f"{V1}/readings/series",
        params={"gateway": GW, "device": "vib-01", "metric": "vib_rms_mm_s", "start": T0, "end": T0 + 3 * S},
    )
    assert r.status_code == 200
    assert r.json()["points"] == [[T0, 0.0], [T0 + S, 1.0], [T0 + 2 * S, 2.0]]
    r = client.get(
        f"{V1}/readings/series",
        params={
            "gateway": GW,
            "device": "d",
            "metric": "m",
            "start": "2025-06-15T00:00:00Z",
            "end": "2025-06-16T00:00:00+00:00",
            "every": 60,
        },
    )
    assert r.status_code == 200
    assert tsdb.calls[-1][1] == {
        "gateway": GW,
        "device": "d",
        "metric": "m",
        "start_ns": 1_749_945_600 * S,
        "end_ns": 1_750_032_000 * S,
        "every_s": 60,
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": T0 + S, "end": T0}, "start must be before end"),
        ({"start": T0, "end": T0}, "start must be before end"),
        ({"start": "yesterday", "end": T0}, "neither ISO 8601 nor integer nanoseconds"),
        ({"start": "2025-06-15T00:00:00", "end": T0}, "has no timezone"),
        ({"start": "-5", "end": T0}, "out of range"),
        ({"start": T0, "end": T0 + 2 * 86400 * S}, "exceeds 86400 s (use every= to aggregate)"),
        ({"start": T0, "end": T0 + 40 * 86400 * S, "every": 3600}, "exceeds 2678400 s"),
        ({"start": T0, "end": T0 + 20 * 86400 * S, "every": 60}, "exceed 10000: use a larger every="),
    ],
)
def test_series_rejects_bad_ranges_with_a_reason(
    client: TestClient, params: dict[str, object], message: str
) -> None:
    r = client.get(f"{V1}/readings/series", params={"gateway": GW, "device": "d", "metric": "m", **params})
    assert r.status_code == 422
    assert message in r.json()["detail"]


def test_series_requires_its_parameters(client: TestClient) -> None:
    r = client.get(f"{V1}/readings/series", params={"gateway": GW, "device": "d", "start": T0, "end": T0 + S})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "metric"]
    r = client.get(
        f"{V1}/readings/series",
        params={"gateway": GW, "device": "d", "metric": "m", "start": T0, "end": T0 + S, "every": 0},
    )
    assert r.status_code == 422


def test_stock(client: TestClient, core: BohCore) -> None:
    low_stock(core)
    (row,) = client.get(f"{V1}/stock", params={"site": "store-t1", "sku": "COLA"}).json()
    assert (row["units"], row["reorder_point"], row["below_reorder_point"]) == (1.0, 10.0, True)
    assert client.get(f"{V1}/stock", params={"sku": "NOPE"}).json() == []


def test_alert_flow(client: TestClient, core: BohCore) -> None:
    fault(core)
    (alert,) = client.get(f"{V1}/alerts", params={"state": "open"}).json()
    assert alert["evidence"]["limit"] == LIMIT
    assert client.get(f"{V1}/alerts/{alert['id']}").json() == alert
    r = client.post(f"{V1}/alerts/{alert['id']}/acknowledge", json={"note": "on my way"})
    assert (r.status_code, r.json()["state"]) == (200, "acknowledged")
    r = client.post(f"{V1}/alerts/{alert['id']}/acknowledge")
    assert r.status_code == 409
    assert r.json()["current"] == "acknowledged"
    assert r.json()["allowed"] == ["resolved"]
    assert "cannot go from 'acknowledged' to 'acknowledged'" in r.json()["detail"]
    r = client.post(f"{V1}/alerts/{alert['id']}/resolve")
    assert (r.status_code, r.json()["reason"]) == (409, "condition-active")
    clear(core)
    assert client.post(f"{V1}/alerts/{alert['id']}/resolve").json()["state"] == "resolved"
    assert client.get(f"{V1}/alerts", params={"state": "open"}).json() == []
    assert client.get(f"{V1}/alerts", params={"state": "bogus"}).status_code == 422
    assert client.post(f"{V1}/alerts/999/resolve").status_code == 404
    assert client.get(f"{V1}/alerts/999").status_code == 404
    assert client.get(f"{V1}/alerts/abc").status_code == 422
    audit = client.get(f"{V1}/audit", params={"entity": "alert", "entity_id": str(alert["id"])}).json()
    audit = [a for a in audit if a["detail"].get("condition") != "cleared"]
    assert [(a["from_state"], a["to_state"], a["actor"]) for a in audit] == [
        (None, "open", "system"),
        ("open", "acknowledged", "api"),
        ("acknowledged", "resolved", "api"),
    ]
    assert audit[1]["detail"] == {"note": "on my way"}


def test_work_order_flow(client: TestClient, core: BohCore) -> None:
    fault(core)
    (wo,) = client.get(f"{V1}/work-orders", params={"state": "open"}).json()
    url = f"{V1}/work-orders/{wo['id']}/transition"
    r = client.post(url, json={"to": "closed"})
    assert r.status_code == 409
    assert r.json()["allowed"] == ["cancelled", "in_progress"]
    r = client.post(url, json={"to": "teleported"})
    assert r.status_code == 422
    assert "unknown work order state 'teleported'" in r.text
    assert client.post(url, json={}).status_code == 422
    clear(core)
    for to in ("in_progress", "done", "closed"):
        r = client.post(url, json={"to": to, "note": f"{to}!"})
        assert (r.status_code, r.json()["state"]) == (200, to)
    assert client.get(f"{V1}/work-orders/{wo['id']}").json()["note"] == "closed!"
    assert client.get(f"{V1}/work-orders", params={"alert_id": wo["alert_id"]}).json()[0]["id"] == wo["id"]
    assert client.post(f"{V1}/work-orders/999/transition", json={"to": "done"}).status_code == 404
    assert client.get(f"{V1}/work-orders/999").status_code == 404
    assert client.get(f"{V1}/work-orders", params={"state": "nope"}).status_code == 422


def test_replenishment_flow(client: TestClient, core: BohCore) -> None:
    low_stock(core)
    (p,) = client.get(f"{V1}/replenishment", params={"state": "proposed"}).json()
    assert (p["quantity"], p["sensed_units"], p["pack_size"]) == (42, 1.0, 6)
    assert p["explanation"]["target"] == 40.0
    assert client.post(f"{V1}/replenishment/{p['id']}/approve", json={}).json()["state"] == "approved"
    assert client.post(f"{V1}/replenishment/{p['id']}/approve").status_code == 409
    assert client.post(f"{V1}/replenishment/{p['id']}/ordered").json()["state"] == "ordered"
    assert client.post(f"{V1}/replenishment/{p['id']}/reject").status_code == 409
    low_stock(core, seq=3)
    assert client.get(f"{V1}/replenishment", params={"state": "proposed"}).json() == []  # still on order
    assert client.post(f"{V1}/replenishment/{p['id']}/received").json()["state"] == "received"
    low_stock(core, seq=4)
    (q,) = client.get(f"{V1}/replenishment", params={"state": "proposed"}).json()
    assert (
        client.post(f"{V1}/replenishment/{q['id']}/reject", json={"note": "promo ends"}).json()["state"]
        == "rejected"
    )
    assert client.get(f"{V1}/replenishment/{q['id']}").json()["state"] == "rejected"
    assert client.post(f"{V1}/replenishment/999/approve").status_code == 404
    assert client.get(f"{V1}/replenishment/999").status_code == 404
    assert client.get(f"{V1}/replenishment", params={"state": "maybe"}).status_code == 422
    r = client.post(f"{V1}/replenishment/{q['id']}/approve", json={"actor": "mgr"})
    assert r.status_code == 422  # who acts is the caller, never a field of the body
    assert r.json()["errors"][0]["loc"] == ["body", "actor"]


def test_quarantine_and_summary(client: TestClient, core: BohCore) -> None:
    core.quarantine(
        [
            QuarantineItem(
                "bohsense/v1/gw-q/readings", b"\xff\x00garbage", "malformed", "bad msgpack", T0, "gw-q"
            )
        ]
    )
    fault(core)
    low_stock(core)
    (q,) = client.get(f"{V1}/quarantine", params={"reason": "malformed"}).json()
    assert "payload_b64" not in q, "a listing carries no payload bodies"
    assert (q["payload_size"], q["payload_stored"], q["detail"], q["gateway"]) == (
        9,
        9,
        "bad msgpack",
        "gw-q",
    )
    assert q["payload_sha256"] == hashlib.sha256(b"\xff\x00garbage").hexdigest()
    r = client.get(f"{V1}/quarantine/{q['id']}/payload")
    assert (r.status_code, r.content, r.headers["content-type"]) == (
        200,
        b"\xff\x00garbage",
        "application/octet-stream",
    )
    assert (r.headers["x-payload-size"], r.headers["x-payload-sha256"]) == ("9", q["payload_sha256"])
    assert client.get(f"{V1}/quarantine/{q['id'] + 99}/payload").status_code == 404
    s = client.get(f"{V1}/summary").json()
    assert (s["alerts"], s["work_orders"], s["replenishment_proposals"], s["quarantined"]) == (1, 1, 1, 1)
    assert s["stock_locations_below_reorder_point"] == 1
    assert s["ingest"] == {"readings": 7, "quarantined": 0}


def test_a_token_guards_everything_but_health(secured: TestClient) -> None:
    assert secured.get(f"{V1}/health").status_code == 200
    for path in (
        "/gateways",
        "/devices",
        "/stock",
        "/alerts",
        "/work-orders",
        "/replenishment",
        "/audit",
        "/quarantine",
        "/summary",
        "/readings/latest",
    ):
        r = secured.get(V1 + path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer"
    assert secured.post(f"{V1}/alerts/1/resolve").status_code == 401
    assert secured.get(f"{V1}/alerts", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert secured.get(f"{V1}/alerts", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert secured.get(f"{V1}/alerts", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert secured.get("/openapi.json").status_code == 200


def test_an_empty_token_is_refused(core: BohCore, tsdb: FakeTimeSeries) -> None:
    with pytest.raises(ValueError, match="api_token must not be empty"):
        create_app(core=core, tsdb=tsdb, api_token="  ")


@pytest.mark.parametrize("core", ["postgresql"], indirect=True)
def test_the_api_on_postgresql(client: TestClient, core: BohCore) -> None:
    fault(core)
    low_stock(core)
    (alert,) = client.get(f"{V1}/alerts").json()
    clear(core)
    assert client.post(f"{V1}/alerts/{alert['id']}/resolve").json()["state"] == "resolved"
    assert client.get(f"{V1}/summary").json()["replenishment_proposals"] == 1


def test_an_apply_failed_item_is_reapplied_through_the_api(client: TestClient, core: BohCore) -> None:
    import msgspec

    from bohsense.contracts.codec import encode

    b = batch(1)
    core.apply_batches([msgspec.structs.replace(b, readings=[])])  # its seq recorded when it was set aside
    core.quarantine([QuarantineItem(f"bohsense/v1/gw/{GW}/readings", encode(b), "apply-failed", "x", T0, GW)])
    core.quarantine([QuarantineItem(f"bohsense/v1/gw/{GW}/readings", b"\x00", "malformed", "x", T0, GW)])
    bad, failed = [q["id"] for q in client.get(f"{V1}/quarantine").json()]
    r = client.post(f"{V1}/quarantine/{failed}/reapply", json={})
    assert (r.status_code, r.json()) == (200, {"id": failed, "ok": True, "what": "batch seq 1 (1 readings)"})
    assert b.readings[0].device in [d.device for d in core.list_devices(gateway=GW)]
    r = client.post(f"{V1}/quarantine/{bad}/reapply", json={})
    assert r.status_code == 409
    assert "only 'apply-failed' items" in r.json()["detail"]
    assert (
        client.post(f"{V1}/quarantine/{failed}/reapply", json={}).status_code == 404
    )  # it left the quarantine
    assert client.post(f"{V1}/quarantine/{bad}/reapply", json={"zz": 1}).status_code == 422


@pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("path", "loc"),
    [
        (f"/alerts/{2**63}", ["path", "alert_id"]),
        (f"/alerts/{2**31}", ["path", "alert_id"]),
        (f"/work-orders/{2**63}", ["path", "work_order_id"]),
        (f"/replenishment/{2**64}", ["path", "proposal_id"]),
        (f"/alerts?limit={2**63}", ["query", "limit"]),
        ("/devices?limit=1001", ["query", "limit"]),
        (f"/work-orders?alert_id={2**63}", ["query", "alert_id"]),
        (f"/audit?limit={2**70}", ["query", "limit"]),
        ("/alerts/0", ["path", "alert_id"]),
        (f"/quarantine/{2**31}/payload", ["path", "quarantine_id"]),
    ],
)
def test_integers_beyond_a_column_are_refused_with_the_reason(
    client: TestClient, path: str, loc: list[str]
) -> None:
    r = client.get(V1 + path)
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["loc"] == loc
    assert r.json()["detail"].startswith(".".join(loc) + ": Input should be")


@pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)
def test_the_largest_integers_a_column_holds_are_answered(client: TestClient) -> None:
    # row ids are 32-bit INTEGER columns on PostgreSQL
    assert client.get(f"{V1}/alerts/{2**31 - 1}").status_code == 404
    for path in ("/alerts", "/work-orders", "/replenishment", "/devices", "/audit", "/quarantine"):
        # a page as deep as the column holds (its cursor made as the API makes one)
        cursor = _encode(2**31 - 1, _fingerprint(_request(V1 + path)))
        assert client.get(V1 + path, params={"cursor": cursor}).json() == [], path
    path = f"{V1}/gateways/g/commands"
    cursor = _encode(2**31 - 1, _fingerprint(_request(path)))
    assert client.get(path, params={"cursor": cursor}).json() == []


def _request(path: str) -> Request:
    return Request({"type": "http", "path": path, "query_string": b"", "headers": []})


@pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)
def test_a_nul_in_a_filter_is_refused_not_a_server_error(client: TestClient) -> None:
    r = client.get(f"{V1}/alerts", params={"site": "a\x00b"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "site"]


def test_errors_have_one_shape(client: TestClient) -> None:
    for r in (
        client.get(f"{V1}/alerts/999"),
        client.get(f"{V1}/alerts", params={"state": "bogus"}),
        client.get(f"{V1}/alerts", params={"limit": 0}),
        client.get(f"{V1}/nope"),
        client.post(f"{V1}/alerts/1/resolve", content=b"\xff{", headers={"content-type": "application/json"}),
    ):
        body = r.json()
        assert r.status_code >= 400
        assert isinstance(body["detail"], str), r.text
        assert body["detail"], r.text
        assert isinstance(body["errors"], list)


@pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)
def test_a_nul_in_a_body_or_path_is_refused_not_a_server_error(client: TestClient) -> None:
    r = client.put(f"{V1}/catalog/gateways/gw-x", json={"site": "\x00"})
    assert r.status_code == 422, r.text
    assert "NUL" in r.json()["detail"]
    r = client.put(f"{V1}/catalog/sites/a%00b", json={"name": "x"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["path", "site_id"]
