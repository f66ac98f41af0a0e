"""The live feeds over a real uvicorn server (SSE with httpx streaming) and a WebSocket:
resuming with Last-Event-ID receives every missed event once, in order, then live ones;
a caller scoped to one store never sees another's; a client too slow for its queue is told
to reconnect and, resuming, loses nothing; bad filters are refused."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from bohsense.cloud.api import create_app
from bohsense.cloud.api._feed_hub import FeedConfig
from bohsense.cloud.api._identity import Principal
from bohsense.cloud.api.routers.feeds import configure_feeds
from bohsense.cloud.boh import BohCore

from ..boh.factory import DURATION_S, LIMIT, SITE, batch, catalog, vib
from .conftest import FakeTimeSeries
from .live import Principals, SseReader, serve

SITE2 = "store-t2"
FEED = "/api/v1/feeds/events"
PRINCIPALS = {
    "tech-1": Principal(subject="tech-1", role="technician", sites=frozenset({SITE}), via="jwt"),
    "hq": Principal(subject="hq", role="hq", sites=None, via="jwt"),
}
TIMEOUT = httpx.Timeout(5.0)


def two_stores() -> dict[str, Any]:
    cat = catalog()
    other = copy.deepcopy(cat["assets"][0])
    other.update(id="cooler-2", site=SITE2, gateway="gw-t2", device="vib-02")
    cat["sites"].append({"id": SITE2, "name": "Second store"})
    cat["gateways"].append({"id": "gw-t2", "site": SITE2})
    cat["assets"].append(other)
    return cat


@pytest.fixture
def core(tmp_path: Path) -> Iterator[BohCore]:
    boh = BohCore(f"sqlite:///{tmp_path / 'feeds.db'}")
    boh.migrate()
    boh.load_catalog(two_stores())
    yield boh
    boh.close()


def make_app(core: BohCore, **config: Any) -> FastAPI:
    app = create_app(core=core, tsdb=FakeTimeSeries())
    configure_feeds(app, FeedConfig(poll_s=0.05, heartbeat_s=0.5, **config))
    return app


def work_order(core: BohCore, asset: str, title: str) -> int:
    return core.create_work_order(asset, title, actor="planner").id


def test_a_client_resumes_with_last_event_id_and_misses_nothing(core: BohCore) -> None:
    with serve(make_app(core)) as base, httpx.Client(base_url=base, timeout=TIMEOUT) as http:
        with http.stream("GET", FEED, params={"topics": "work_orders"}) as first:
            assert first.status_code == 200
            assert first.headers["content-type"].startswith("text/event-stream")
            events = SseReader(first)
            made = [work_order(core, "cooler-1", f"check {n}") for n in range(3)]
            seen = events.take(3)
        assert [e.data["entity_id"] for e in seen] == [str(w) for w in made]
        assert all(e.event == "work_order.created" and e.data["site"] == SITE for e in seen)
        assert seen[0].data["at"].endswith("Z")
        assert isinstance(seen[0].data["at_ns"], int)
        last = seen[-1].id
        assert last is not None
        assert [e.id for e in seen] == sorted({e.id for e in seen})

        # while it is away: three more, on both stores
        missed = [
            work_order(core, a, f"away {n}") for n, a in enumerate(["cooler-1", "cooler-2", "cooler-1"])
        ]
        with http.stream(
            "GET", FEED, params={"topics": "work_orders", "after": 0}, headers={"Last-Event-ID": str(last)}
        ) as again:
            events = SseReader(again)
            replayed = events.take(3)
            live_id = work_order(core, "cooler-2", "live")
            (live,) = events.take(1)
        assert [e.data["entity_id"] for e in replayed] == [str(w) for w in missed]
        assert [e.data["site"] for e in replayed] == [SITE, SITE2, SITE]
        ids = [e.id for e in [*replayed, live]]
        assert ids == sorted(set(ids))
        assert ids[0] > last
        assert live.data["entity_id"] == str(live_id)
        # exactly the domain events of those work orders, nothing else of the topic in between
        expected = [
            c.id for c in core.changes(after=last, limit=100).events if c.kind.startswith("work_order.")
        ]
        assert ids == expected


def test_a_caller_scoped_to_one_store_never_sees_another(core: BohCore) -> None:
    app = Principals(make_app(core), PRINCIPALS)
    with serve(app) as base, httpx.Client(base_url=base, timeout=TIMEOUT) as http:
        with (
            http.stream("GET", FEED, params={"after": 0}, headers={"X-Test-Principal": "tech-1"}) as tech,
            http.stream("GET", FEED, params={"after": 0}, headers={"X-Test-Principal": "hq"}) as hq,
        ):
            for asset in ("cooler-2", "cooler-1", "cooler-2", "cooler-1"):
                work_order(core, asset, "scoped")
            tech_seen = SseReader(tech).take(2)
            hq_seen = SseReader(hq).take(4)
        assert [e.data["site"] for e in tech_seen] == [SITE, SITE]
        assert [e.data["site"] for e in hq_seen] == [SITE2, SITE, SITE2, SITE]
        # the store-1 technician's next event is store 1's, however many of store 2 came first
        with http.stream(
            "GET", FEED, params={"after": hq_seen[-1].id}, headers={"X-Test-Principal": "tech-1"}
        ) as tech:
            for _ in range(3):
                work_order(core, "cooler-2", "not yours")
            mine = work_order(core, "cooler-1", "yours")
            (e,) = SseReader(tech).take(1)
        assert e.data["entity_id"] == str(mine)
        refused = http.get(FEED, params={"site": SITE2}, headers={"X-Test-Principal": "tech-1"})
        assert refused.status_code == 403
        assert refused.json()["type"].endswith("/out-of-scope")


def test_a_client_too_slow_for_its_queue_is_told_to_reconnect_and_loses_nothing(core: BohCore) -> None:
    # one commit (a confirmed fault) makes several feed events at once: more than the queue holds
    with serve(make_app(core, queue_size=1)) as base, httpx.Client(base_url=base, timeout=TIMEOUT) as http:
        with http.stream("GET", FEED) as slow:
            events = SseReader(slow)
            core.apply_batches([batch(1, [vib(t, LIMIT + 1) for t in range(0, DURATION_S + 1, 5)])])
            told = events.next()
            assert told.event == "reconnect"
            assert told.data["reason"] == "slow-consumer"
            with pytest.raises(AssertionError, match="ended"):
                events.next()  # the server closed the stream
        after = told.data["after"]
        assert told.id == after
        made = [
            c
            for c in core.changes(after=after, limit=100).events
            if c.kind.startswith(("alert.", "work_order."))
        ]
        assert len(made) >= 2
        with http.stream("GET", FEED, headers={"Last-Event-ID": str(after)}) as resumed:
            got = SseReader(resumed).take(len(made))
        assert [(e.id, e.event) for e in got] == [(c.id, c.kind) for c in made]


def test_bad_filters_are_refused_with_a_problem(core: BohCore) -> None:
    with TestClient(make_app(core)) as client:
        for params, where in (
            ({"topics": "alerts,gossip"}, "topics"),
            ({"topic": "alerts"}, "topic"),
            ({"after": "-1"}, "after"),
        ):
            r = client.get(FEED, params=params)
            assert r.status_code == 422, params
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["errors"][0]["loc"][-1] == where
        r = client.get(FEED, headers={"Last-Event-ID": "soon"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["header", "Last-Event-ID"]


def test_the_websocket_carries_the_same_events(core: BohCore) -> None:
    first = work_order(core, "cooler-1", "before")
    start = next(c.id for c in core.changes(limit=1000).events if c.entity_id == str(first)) - 1
    with TestClient(make_app(core)) as client:
        with client.websocket_connect(f"/api/v1/feeds/ws?topics=work_orders&after={start}") as ws:
            replayed = ws.receive_json()
            second = work_order(core, "cooler-2", "after")
            live = ws.receive_json()
            while live["type"] == "heartbeat":
                live = ws.receive_json()
        assert replayed["type"] == live["type"] == "event"
        assert (replayed["event"]["entity_id"], replayed["event"]["site"]) == (str(first), SITE)
        assert (live["event"]["entity_id"], live["event"]["site"]) == (str(second), SITE2)
        assert live["event"]["id"] > replayed["event"]["id"]
        for query, status in (("topics=gossip", 422), ("since=1", 422), ("after=x", 422), ("site=x%00", 422)):
            with (
                pytest.raises(WebSocketDenialResponse) as refused,
                client.websocket_connect(f"/api/v1/feeds/ws?{query}"),
            ):
                pass
            assert refused.value.status_code == status, query
            assert refused.value.headers["content-type"].startswith("application/problem+json")


def test_the_websocket_takes_the_token_from_the_query(core: BohCore) -> None:
    app = create_app(core=core, tsdb=FakeTimeSeries(), api_token="feed-token-0123456789")
    with TestClient(app) as client:
        with client.websocket_connect("/api/v1/feeds/ws?access_token=feed-token-0123456789&topics=alerts"):
            pass
        with (
            pytest.raises(WebSocketDenialResponse) as refused,
            client.websocket_connect("/api/v1/feeds/ws?access_token=wrong"),
        ):
            pass
        assert refused.value.status_code == 401
        assert client.get(FEED, params={"access_token": "feed-token-0123456789"}).status_code == 401
