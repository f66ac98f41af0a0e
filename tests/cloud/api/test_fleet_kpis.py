"""``GET /fleet/kpis``: the KPIs of a period per store, checked against figures worked out
by hand from rows written straight into the BOH tables (alerts, work orders, outages) of
the two-store catalog of ``test_scoping``; scoped to the caller's stores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from bohsense.cloud.boh import BohCore
from bohsense.cloud.boh._models import Alert, StockLocation, StockOutage, WorkOrder

from .conftest import FakeTimeSeries
from .test_scoping import MGR, client_as, two_more_stores

V1 = "/api/v1"
S = 10**9
H = 3600 * S
T0 = 1_750_000_000 * S  # the period: [T0, T0 + 10 h)
END = T0 + 10 * H
PERIOD = {"since": str(T0), "until": str(END)}


def _alert(site: str, asset: str | None, severity: str, opened: int, resolved: int | None) -> dict[str, Any]:
    return {
        "asset_id": asset,
        "subject": "" if asset else f"gateway:gw-{site}",
        "site": site,
        "condition": "vibration-high" if asset else "gateway-offline",
        "severity": severity,
        "state": "resolved" if resolved is not None else "open",
        "opened_ns": opened,
        "updated_ns": resolved or opened,
        "resolved_ns": resolved,
        "evidence": {},
    }


def _seed(core: BohCore) -> None:
    """s1: three alerts opened in the period (two condition alerts resolved after 60 s and
    120 s, one gateway alert still open) and one opened before it (resolved in it after
    1 h), two work orders (one closed in the period), an outage of 2 h in the period, one
    that began 1 h before it and is still open; s2: one alert, no outage."""
    core.load_catalog(two_more_stores())
    with core.engine.begin() as conn:
        conn.execute(
            insert(Alert),
            [
                _alert("s1", "cooler-s1", "major", T0 + 1 * H, T0 + 1 * H + 60 * S),
                _alert("s1", "cooler-s1", "critical", T0 + 2 * H, T0 + 2 * H + 120 * S),
                _alert("s1", None, "warning", T0 + 3 * H, None),
                _alert("s1", "cooler-s1", "major", T0 - 1 * H, T0),
                _alert("s2", "cooler-s2", "major", T0 + 4 * H, None),
            ],
        )
        wo = {"kind": "maintenance", "title": "t", "asset_id": "cooler-s1", "site": "s1"}
        conn.execute(
            insert(WorkOrder),
            [
                {**wo, "state": "closed", "created_ns": T0 + H, "updated_ns": T0 + 2 * H},
                {**wo, "state": "open", "created_ns": T0 + 3 * H, "updated_ns": T0 + 3 * H},
                {**wo, "state": "closed", "created_ns": T0 - 5 * H, "updated_ns": T0 - 4 * H},
            ],
        )
        (loc,) = conn.execute(StockLocation.__table__.select().where(StockLocation.site == "s1")).all()
        out = {
            "location_id": loc.id,
            "site": "s1",
            "sku": loc.sku,
            "location": loc.location,
            "rate_source": "pos",
        }
        conn.execute(
            insert(StockOutage),
            [
                {**out, "started_ns": T0 + 1 * H, "ended_ns": T0 + 3 * H, "rate_per_h": 3.0},
                {**out, "started_ns": T0 - 1 * H, "ended_ns": None, "rate_per_h": 1.5},
            ],
        )


@pytest.fixture
def seeded(core: BohCore) -> BohCore:
    _seed(core)
    return core


@pytest.fixture
def hq(seeded: BohCore, tsdb: FakeTimeSeries) -> Iterator[TestClient]:
    yield from client_as(seeded, tsdb, None)


@pytest.fixture
def mgr(seeded: BohCore, tsdb: FakeTimeSeries) -> Iterator[TestClient]:
    yield from client_as(seeded, tsdb, MGR)


def _by_site(client: TestClient, **params: str) -> dict[str, dict[str, Any]]:
    r = client.get(f"{V1}/fleet/kpis", params={**PERIOD, **params})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["since_ns"], body["until_ns"]) == (T0, END)
    return {row["site"]: row for row in body["stores"]}


@pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)
def test_figures_of_a_store_are_the_hand_computed_ones(hq: TestClient, seeded: BohCore) -> None:
    # the open outage runs to now (the real clock, far after the period): its time within the
    # period is the whole 10 h; the closed one's 2 h
    rows = _by_site(hq)
    assert set(rows) == {"store-t1", "s1", "s2"}
    s1 = rows["s1"]
    assert s1["alerts_opened"] == 3
    assert s1["alerts_by_severity"] == {"critical": 1, "major": 1, "warning": 1}
    assert s1["failures"] == 2  # the gateway alert is no failure of an asset
    # resolved in the period: after 60 s, 120 s and (opened before it) 1 h
    assert s1["alerts_resolved"] == 3
    assert s1["mttr_s"] == pytest.approx((60 + 120 + 3600) / 3)
    assert s1["assets"] == 1
    assert s1["mtbf_s"] == pytest.approx(10 * 3600 * 1 / 2)
    assert (s1["work_orders_opened"], s1["work_orders_closed"]) == (2, 1)
    assert (s1["locations"], s1["out_of_stock_now"], s1["in_stock_rate"]) == (1, 1, 0.0)
    assert s1["out_of_stock_hours"] == pytest.approx(2 + 10)
    assert s1["lost_sales_units"] == pytest.approx(2 * 3.0 + 10 * 1.5)
    s2 = rows["s2"]
    assert (s2["alerts_opened"], s2["failures"], s2["mttr_s"]) == (1, 1, None)
    assert s2["mtbf_s"] == pytest.approx(10 * 3600.0)
    assert (s2["in_stock_rate"], s2["out_of_stock_hours"], s2["lost_sales_units"]) == (1.0, 0.0, 0.0)
    assert rows["store-t1"]["mtbf_s"] is None  # no failure: no MTBF


def test_mttr_is_the_mean_of_the_alerts_resolved_in_the_period(hq: TestClient) -> None:
    # [T0 + 1 h, T0 + 3 h): only the two resolved after 60 s and 120 s
    r = hq.get(f"{V1}/fleet/kpis", params={"since": str(T0 + H), "until": str(T0 + 3 * H), "site": "s1"})
    (s1,) = r.json()["stores"]
    assert (s1["alerts_resolved"], s1["mttr_s"]) == (2, 90.0)
    assert s1["out_of_stock_hours"] == pytest.approx(2 + 2)  # both outages for the 2 h


def test_a_store_manager_sees_only_its_store(mgr: TestClient) -> None:
    assert set(_by_site(mgr)) == {"s1"}
    r = mgr.get(f"{V1}/fleet/kpis", params={**PERIOD, "site": "s2"})
    assert r.status_code == 403
    assert r.json()["type"].endswith("/out-of-scope")


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"until": "2026-01-01T00:00:00"},  # no timezone
        {"since": str(END), "until": str(T0)},
        {"since": str(T0), "until": str(T0 + 401 * 86_400 * S)},
        {"store": "s1"},  # an unknown filter
    ],
)
def test_bad_parameters_are_refused(hq: TestClient, params: dict[str, str]) -> None:
    r = hq.get(f"{V1}/fleet/kpis", params=params)
    assert r.status_code == 422, (params, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
