"""CSV exports of a period: stock, alerts, work orders and proposals (``…/export.csv``)."""

from __future__ import annotations

import csv
import io
import json

from fastapi.testclient import TestClient

from bohsense.cloud.api._common import iso_time
from bohsense.cloud.boh import BohCore

from ..boh.factory import DURATION_S, LANE_A, LIMIT, T0, batch, units, vib

V1 = "/api/v1"
S = 10**9


def _csv(client: TestClient, path: str, **params: object) -> list[dict[str, str]]:
    r = client.get(V1 + path, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(r.text)))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def _same(rows: list[dict[str, str]], items: list[dict[str, object]]) -> None:
    assert len(rows) == len(items)
    for row, item in zip(rows, items, strict=True):
        assert list(row) == list(item), "one column per field, in the schema's order"
        assert row == {k: _cell(v) for k, v in item.items()}


def _fill(core: BohCore) -> None:
    core.apply_batches([batch(1, [vib(t, LIMIT + 1) for t in range(0, DURATION_S + 1, 5)])])
    core.apply_batches([batch(2, [units(LANE_A, 1, 8)])])


def test_each_export_is_the_list_as_csv(client: TestClient, core: BohCore) -> None:
    _fill(core)
    for export, listing in (
        ("/alerts/export.csv", "/alerts"),
        ("/work-orders/export.csv", "/work-orders"),
        ("/replenishment/export.csv", "/replenishment"),
        ("/stock/export.csv", "/stock"),
    ):
        items = client.get(V1 + listing).json()
        assert items, listing
        rows = _csv(client, export)
        _same(rows, items)
    (alert,) = _csv(client, "/alerts/export.csv")
    assert alert["opened_at"] == iso_time(int(alert["opened_ns"]))


def test_an_export_keeps_what_lived_in_the_period(client: TestClient, core: BohCore) -> None:
    _fill(core)
    (a,) = client.get(f"{V1}/alerts").json()
    opened = a["opened_ns"]
    # opened before the period's end: in; a period ending before it opened: out
    assert len(_csv(client, "/alerts/export.csv", to=opened + 1)) == 1
    assert _csv(client, "/alerts/export.csv", to=iso_time(opened - S)) == []
    # still open: in a period that starts long after it last changed
    assert len(_csv(client, "/alerts/export.csv", **{"from": opened + 3600 * S})) == 1
    client.post(f"{V1}/alerts/{a['id']}/acknowledge", json={})
    assert len(_csv(client, "/alerts/export.csv", state="acknowledged")) == 1
    assert _csv(client, "/alerts/export.csv", state="resolved") == []
    # stock: the counts made in the period
    (level,) = [x for x in client.get(f"{V1}/stock").json() if x["as_of_ns"] is not None]
    assert [r["as_of_ns"] for r in _csv(client, "/stock/export.csv", **{"from": T0})] == [
        str(level["as_of_ns"])
    ]
    assert _csv(client, "/stock/export.csv", to=T0) == []


def test_a_bad_period_is_a_validation_problem(client: TestClient) -> None:
    for params, where in (
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-05-02T00:00:00Z", "to": "2026-05-01T00:00:00Z"}, "to"),
        ({"to": "2026-05-01T00:00:00"}, "to"),  # no timezone
    ):
        for path in (
            "/alerts/export.csv",
            "/work-orders/export.csv",
            "/replenishment/export.csv",
            "/stock/export.csv",
        ):
            r = client.get(V1 + path, params=params)
            assert r.status_code == 422, (path, params)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["errors"][0]["loc"] == ["query", where]
    r = client.get(f"{V1}/alerts/export.csv", params={"since": "2026-05-01T00:00:00Z"})
    assert r.status_code == 422  # the period is from/to; an unknown parameter is not ignored
    assert r.json()["errors"][0]["loc"] == ["query", "since"]
