"""The technicians' alerts feed and the fault labels over HTTP: filters, refusals, fields."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bohsense.cloud.boh import BohCore

from ..boh.factory import CLEAR, DURATION_S, GW, LIMIT, VIB, S, batch, vib
from .conftest import FakeTimeSeries

V1 = "/api/v1"


def fault_and_clear(core: BohCore) -> None:
    core.apply_batches([batch(1, [vib(i * 5, LIMIT + 1) for i in range(DURATION_S // 5 + 1)])])
    core.apply_batches([batch(2, [vib(40 + i * 5, CLEAR - 1) for i in range(DURATION_S // 5 + 1)])])


def test_the_feed_filters_and_refuses_unknown_filters(client: TestClient, core: BohCore) -> None:
    fault_and_clear(core)
    (alert,) = client.get(f"{V1}/alerts", params={"severity": "major", "open": "true"}).json()
    assert (alert["occurrences"], alert["model"], alert["reopened"]) == (1, "threshold", 0)
    assert alert["rule_id"] is not None
    assert alert["resolved_ns"] is None
    assert client.get(f"{V1}/alerts", params={"severity": "critical"}).json() == []
    assert client.get(f"{V1}/alerts", params={"condition": "vibration-high"}).json() == [alert]
    assert client.get(f"{V1}/alerts", params={"since_ns": alert["updated_ns"] + 1}).json() == []
    r = client.get(f"{V1}/alerts", params={"colour": "red"})
    assert r.status_code == 422
    assert "colour" in r.text
    assert client.get(f"{V1}/alerts", params={"severity": "huge"}).status_code == 422


def test_work_orders_carry_evidence_checks_and_labels_come_from_confirmed_faults(
    client: TestClient, core: BohCore
) -> None:
    fault_and_clear(core)
    (wo,) = client.get(f"{V1}/work-orders").json()
    assert wo["evidence"]["decided_by"] == "threshold"
    assert wo["evidence"]["limit"] == LIMIT
    assert wo["checks"] == ["bearing and mounts"]
    assert wo["spare_parts"] == []
    assert client.get(f"{V1}/work-orders/labels").json() == []
    patch = {"resolution_code": "fault_confirmed", "root_cause": "worn bearing"}
    assert client.patch(f"{V1}/work-orders/{wo['id']}", json=patch).status_code == 200
    for to in ("in_progress", "done", "closed"):
        r = client.post(f"{V1}/work-orders/{wo['id']}/transition", json={"to": to})
        assert r.status_code == 200, r.text
    (label,) = client.get(f"{V1}/work-orders/labels", params={"asset": "cooler-1"}).json()
    assert (label["fault"], label["work_order_id"], label["root_cause"]) == (
        "vibration-high",
        wo["id"],
        "worn bearing",
    )
    assert client.get(f"{V1}/work-orders/labels", params={"fault": "outer_race"}).json() == []
    assert client.get(f"{V1}/work-orders/labels", params={"bogus": "1"}).status_code == 422


def test_a_work_orders_trend_comes_from_the_stored_readings(
    client: TestClient, core: BohCore, tsdb: FakeTimeSeries
) -> None:
    from bohsense.cloud.ports import LatestPoint

    fault_and_clear(core)
    (wo,) = client.get(f"{V1}/work-orders").json()
    first, last = wo["evidence"]["first_over_ns"], wo["evidence"]["confirmed_ns"]
    tsdb.points = [LatestPoint(GW, VIB, "vib_rms_mm_s", first + i * S, 8.0) for i in range(0, 31, 5)]
    tsdb.points.append(LatestPoint(GW, VIB, "vib_rms_mm_s", first - 700 * S, 1.0))  # before the window
    got = client.get(f"{V1}/work-orders/{wo['id']}/trend", params={"before_s": 200}).json()
    assert (got["start_ns"], got["end_ns"], got["every_s"]) == (first - 200 * S, last + 60 * S + 1, None)
    (series,) = got["series"]
    assert (series["gateway"], series["device"], series["metric"]) == (GW, VIB, "vib_rms_mm_s")
    assert [p[0] for p in series["points"]] == [first + i * S for i in range(0, 31, 5)]
    wide = client.get(f"{V1}/work-orders/{wo['id']}/trend", params={"before_s": 86_400}).json()
    assert wide["every_s"] == 289  # 86 490 s in at most 300 windows
    hand = client.post(f"{V1}/work-orders", json={"asset_id": "cooler-1", "title": "inspect"}).json()
    assert client.get(f"{V1}/work-orders/{hand['id']}/trend").status_code == 409
