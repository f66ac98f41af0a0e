"""GET /events: stored device events with strict filters, errors in the one shape."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.api._common import iso_time
from bohsense.cloud.boh import BohCore
from bohsense.contracts.schema import ReadingBatch
from tests.cloud.ingest._events import alarm, pick, wire

from ..boh.factory import GW, SITE, T0

V1 = "/api/v1"


@pytest.fixture
def stored(core: BohCore) -> BohCore:
    events = [pick("shelf-1", T0 + 10), alarm("cooler-1", T0 + 20), pick("shelf-2", T0 + 30, units=3)]
    b = ReadingBatch(gateway=GW, seq=1, sent=T0, readings=[], site=SITE, events=[wire(e) for e in events])
    core.apply_batches([b])
    return core


@pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)
def test_events_are_listed_newest_first_by_every_filter(client: TestClient, stored: BohCore) -> None:
    def ids(**params: object) -> list[tuple[str, int]]:
        r = client.get(f"{V1}/events", params=params)
        assert r.status_code == 200, r.text
        return [(e["device"], e["idx"]) for e in r.json()]

    assert ids() == [("shelf-2", 2), ("cooler-1", 1), ("shelf-1", 0)]
    assert ids(kind="shelf.pick") == [("shelf-2", 2), ("shelf-1", 0)]
    assert ids(kind="device.alarm", device="cooler-1", gateway=GW, site=SITE) == [("cooler-1", 1)]
    assert ids(site="elsewhere") == []
    assert ids(since=T0 + 20, until=T0 + 30) == [("cooler-1", 1)]
    assert ids(limit=1) == [("shelf-2", 2)]
    (one,) = client.get(f"{V1}/events", params={"device": "shelf-2"}).json()
    assert one == {
        "id": one["id"],
        "gateway": GW,
        "seq": 1,
        "idx": 2,
        "device": "shelf-2",
        "kind": "shelf.pick",
        "ts_ns": T0 + 30,
        "ts_at": iso_time(T0 + 30),
        "attrs": {
            "lane": "lane-1",
            "units": 3,
            "confidence": 0.97,
            "weight_delta_g": -1065.0,
            "units_after": 10,
        },
        "received_ns": one["received_ns"],
        "received_at": iso_time(one["received_ns"]),
    }


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"knid": "shelf.pick"}, "unknown query parameter 'knid'"),
        ({"offset": 1}, "unknown query parameter 'offset'"),
        ({"kind": "shelf.teleport"}, "kind"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2025-01-01T00:00:00"}, "no timezone"),
        ({"since": T0 + 5, "until": T0}, "since must be before until"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"gateway": "bad id!"}, "gateway"),
    ],
)
def test_a_bad_or_unknown_filter_is_refused_in_the_one_error_shape(
    client: TestClient, params: dict[str, object], said: str
) -> None:
    r = client.get(f"{V1}/events", params=params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert said in body["detail"], body
    assert isinstance(body["errors"], list)


def test_a_filter_given_twice_is_refused(client: TestClient) -> None:
    r = client.get(f"{V1}/events?kind=shelf.pick&kind=device.alarm")
    assert r.status_code == 422
    assert "more than once" in r.json()["detail"]


@pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)
def test_events_page_by_their_link_header_each_once_in_order(client: TestClient, core: BohCore) -> None:
    # the core seeks (SQL OFFSET): however deep a page, it reads only that page's rows
    events = [pick(f"shelf-{i % 3}", T0 + 10 * i) for i in range(11)]
    b = ReadingBatch(gateway=GW, seq=1, sent=T0, readings=[], site=SITE, events=[wire(e) for e in events])
    core.apply_batches([b])
    everything = client.get(f"{V1}/events", params={"limit": 1000}).json()
    assert len(everything) == 11
    seen, url, pages = [], f"{V1}/events?limit=4", 0
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        seen.extend(r.json())
        pages += 1
        link = r.headers.get("link")
        url = link[1 : link.index(">")] if link else ""
    assert pages == 3
    assert [e["id"] for e in seen] == [e["id"] for e in everything]
