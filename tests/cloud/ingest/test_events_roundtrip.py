"""Events end to end: a batch of readings and events published to a real Mosquitto, through
the real ingest worker, into the real BOH core (SQLite and PostgreSQL) with handlers
registered here, and its readings into a real InfluxDB 1.x."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bohsense.cloud.boh import BohCore, EventContext
from bohsense.cloud.tsdb import open_store
from bohsense.contracts.codec import Encoding, decode_batch, encode
from bohsense.contracts.events import Event
from bohsense.contracts.schema import Reading
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import readings_topic
from tests.cloud.ingest._events import alarm, event_batch, json_batch, pick, raw_wire, wire
from tests.cloud.ingest._harness import config, influx_count, publish, running, until
from tests.cloud.tsdb._data import unique
from tests.support.services import InfluxDB, Mosquitto


@pytest.fixture(params=["sqlite", "postgresql"])
def core(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BohCore]:
    url = (
        f"sqlite:///{tmp_path / 'boh.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    )
    boh = BohCore(url, auto_register=True)  # no catalog: every gateway is trusted
    boh.migrate()
    yield boh
    boh.close()


class Recorder:
    """A handler that records what it got (called from the worker's apply thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.got: list[tuple[str, int, int, Event]] = []

    def __call__(self, ctx: EventContext, event: Event) -> None:
        with self.lock:
            self.got.append((ctx.gateway, ctx.seq, ctx.index, event))

    def calls(self) -> list[tuple[str, int, int, Event]]:
        with self.lock:
            return list(self.got)


@pytest.mark.parametrize("encoding", [Encoding.MSGPACK, Encoding.JSON])
async def test_events_reach_their_handlers_once_and_an_unknown_kind_is_quarantined_alone(
    mosquitto: Mosquitto, influxdb: InfluxDB, core: BohCore, encoding: Encoding
) -> None:
    db = influxdb.create_database(unique("events"))
    store = open_store(f"influx1://127.0.0.1:{influxdb.port}/{db}")
    recorder = Recorder()
    core.event_handlers.register("shelf.pick", recorder, replace=True)
    core.event_handlers.register("device.alarm", recorder, replace=True)
    gw, t0 = unique("gw"), now_ns() - 30 * 10**9
    readings = [Reading("shelf-1.lane-1", "weight_g", t0 + i * 10**6, 1000.0 - i) for i in range(20)]
    p, a = pick("shelf-1.lane-1", t0 + 5), alarm("cooler-1", t0 + 6)
    if encoding is Encoding.MSGPACK:
        unknown = raw_wire("shelf-1", "shelf.teleport", t0 + 7, {"to": "mars"})
        payload = encode(event_batch(gw, 1, now_ns(), readings, [wire(p), unknown, wire(a)]))
    else:
        attrs = {
            "lane": "lane-1",
            "units": 1,
            "confidence": 0.97,
            "weight_delta_g": -355.0,
            "units_after": 10,
        }
        alarm_attrs = {
            "code": "door-open",
            "severity": "critical",
            "active": True,
            "message": "door open too long",
        }
        payload = json_batch(
            gw,
            1,
            now_ns(),
            readings,
            [
                ("shelf-1.lane-1", "shelf.pick", t0 + 5, attrs),
                ("shelf-1", "shelf.teleport", t0 + 7, {"to": "mars"}),
                ("cooler-1", "device.alarm", t0 + 6, alarm_attrs),
            ],
        )
    topic = readings_topic(gw)
    async with running(store, core, config(mosquitto, unique("ingest"))) as worker:  # type: ignore[arg-type]
        await publish(mosquitto, [(topic, payload)])
        await until(lambda: worker.stats.mqtt_acks == 1, what="the batch acknowledged")
        assert recorder.calls() == [(gw, 1, 0, p), (gw, 1, 2, a)]
        assert (worker.stats.events, worker.stats.events_applied) == (2, 2)
        assert worker.stats.quarantined_by_reason["unknown-event-kind"] == 1
        await until(lambda: influx_count(influxdb, db, gw) == 20, what="the readings in InfluxDB")
        (item,) = core.list_quarantine(gateway=gw)
        assert item.reason == "unknown-event-kind"
        assert "event 1 " in item.detail
        kept = decode_batch(core.quarantine_payload(item.id))  # a one-event copy of the batch
        assert (kept.gateway, kept.seq, kept.readings, [e.kind for e in kept.events]) == (
            gw,
            1,
            [],
            ["shelf.teleport"],
        )
        stored = core.list_events(gateway=gw)
        assert [(e.idx, e.kind, e.ts_ns) for e in stored] == [
            (2, "device.alarm", t0 + 6),
            (0, "shelf.pick", t0 + 5),
        ]
        assert core.get_gateway(gw).watermark == 1

        await publish(mosquitto, [(topic, payload)])  # the gateway sends it again
        await until(lambda: worker.stats.mqtt_acks == 2, what="the duplicate acknowledged")
        assert worker.stats.duplicates == 1
        assert recorder.calls() == [(gw, 1, 0, p), (gw, 1, 2, a)]  # no handler ran again
        assert worker.stats.events_applied == 2
        assert len(core.list_events(gateway=gw)) == 2
    assert influx_count(influxdb, db, gw) == 20
    await store.close()


async def test_a_failing_handler_quarantines_its_batch_as_apply_failed_and_it_can_be_reapplied(
    mosquitto: Mosquitto, core: BohCore, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    calls: list[int] = []

    def broken(_ctx: EventContext, _event: Event) -> None:
        calls.append(1)
        raise RuntimeError("the pick handler has a bug")

    core.event_handlers.register("shelf.pick", broken, replace=True)
    gw, t0 = unique("gw"), now_ns() - 30 * 10**9
    p = pick("shelf-1.lane-1", t0)
    b = event_batch(gw, 1, now_ns(), [Reading("shelf-1.lane-1", "weight_g", t0, 990.0)], [wire(p)])
    async with running(store, core, config(mosquitto, unique("ingest"))) as worker:  # type: ignore[arg-type]
        await publish(mosquitto, [(readings_topic(gw), encode(b))])
        await until(lambda: worker.stats.mqtt_acks == 1, what="the batch settled")
        (item,) = core.list_quarantine(gateway=gw)
        assert item.reason == "apply-failed"
        assert "the pick handler has a bug" in item.detail
        assert "shelf.pick" in item.detail
        assert core.get_gateway(gw).watermark == 1  # its seq is recorded: the gateway moves on
        assert core.list_events(gateway=gw) == []  # nothing of the failed call was kept
        assert len(calls) >= 2  # retried, then isolated
    recorder = Recorder()
    core.event_handlers.register("shelf.pick", recorder, replace=True)  # the bug is fixed
    (result,) = core.reapply_quarantined([item.id], actor="test")
    assert result.ok, result.what
    assert recorder.calls() == [(gw, 1, 0, p)]
    assert [e.kind for e in core.list_events(gateway=gw)] == ["shelf.pick"]
    assert core.list_quarantine(gateway=gw) == []
    points = await store.series(
        gateway=gw, device="shelf-1.lane-1", metric="weight_g", start_ns=t0, end_ns=t0 + 1
    )
    assert points == [(t0, 990.0)]  # the readings were stored before the core failed
    await store.close()
