"""GET /changes: the domain events after a cursor, in id order, with strict parameters."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bohsense.cloud.api._common import iso_time
from bohsense.cloud.boh import BohCore

from ..boh.factory import DURATION_S, LIMIT, batch, vib

V1 = "/api/v1"


def test_changes_page_through_the_events_in_id_order(client: TestClient, core: BohCore) -> None:
    first = client.get(f"{V1}/changes", params={"after": 0, "limit": 1000}).json()
    catalog_ids = [e["id"] for e in first["events"]]
    assert catalog_ids == sorted(catalog_ids)
    assert {e["kind"] for e in first["events"]} >= {"catalog.site.created", "catalog.asset.created"}
    assert first["next_after"] == catalog_ids[-1]
    cursor = first["next_after"]
    assert client.get(f"{V1}/changes", params={"after": cursor}).json() == {
        "events": [],
        "next_after": cursor,
    }

    core.apply_batches([batch(1, [vib(t, LIMIT + 1) for t in range(0, DURATION_S + 1, 5)])])
    alert_id = core.list_alerts()[0].id
    client.post(f"{V1}/alerts/{alert_id}/acknowledge", json={})
    seen: list[dict[str, object]] = []
    while True:  # two at a time: the cursor carries the reader on
        page = client.get(f"{V1}/changes", params={"after": cursor, "limit": 2}).json()
        if not page["events"]:
            break
        seen.extend(page["events"])
        cursor = page["next_after"]
    assert [e["kind"] for e in seen] == ["alert.opened", "work_order.created", "alert.acknowledged"]
    assert seen[2] == {
        "id": seen[1]["id"] + 1,  # type: ignore[operator]
        "kind": "alert.acknowledged",
        "entity": "alert",
        "entity_id": str(alert_id),
        "from_state": "open",
        "to_state": "acknowledged",
        "actor": "api",  # the caller: here the open API's local administrator
        "at_ns": seen[2]["at_ns"],
        "at": iso_time(seen[2]["at_ns"]),  # type: ignore[arg-type]
        "detail": {},
    }
    # the audit API reads the same rows, as it did before the events had kinds
    audit = client.get(f"{V1}/audit", params={"entity": "alert"}).json()
    assert [a["id"] for a in audit] == [seen[0]["id"], seen[2]["id"]]
    assert "kind" not in audit[0]


def test_changes_refuse_unknown_and_bad_parameters_in_the_one_error_shape(client: TestClient) -> None:
    for params, where in (
        ({"after": -1}, ["query", "after"]),
        ({"after": "x"}, ["query", "after"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 1001}, ["query", "limit"]),
    ):
        r = client.get(f"{V1}/changes", params=params)
        assert r.status_code == 422, params
        body = r.json()
        assert body["errors"][0]["loc"] == where
        assert body["detail"]
    r = client.get(f"{V1}/changes", params={"since": 3})
    assert r.status_code == 422
    assert "unknown query parameter 'since'" in r.json()["detail"]
    assert r.json()["errors"] == [
        {"loc": ["query", "since"], "msg": "unknown query parameter", "type": "extra_forbidden"}
    ]
    r = client.get(f"{V1}/changes", params=[("after", 1), ("after", 2)])
    assert r.status_code == 422
