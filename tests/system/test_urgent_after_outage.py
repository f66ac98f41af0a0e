"""Priority after an outage, on real parts: a gateway (in this event loop) loses its link to
the broker (a real Mosquitto, reached through a TCP relay the test cuts, as a store's WAN
goes down), holds a backlog and raises a local alarm (``device.alarm`` through the sink's
``put_event``); after the link is back the urgent batch reaches the broker before the
backlog, and the real cloud ingest (InfluxDB 1.x, BOH core on SQLite) applies every batch
exactly once. The broker stays up, so a plain subscriber beside the cloud sees every
message in the order the broker got them. A second part shows on the same cloud that a batch
published ahead of its seq order is applied at once while the watermark (``CloudAck``)
stays contiguous."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bohsense.cloud import CloudService, CloudSettings
from bohsense.contracts.codec import decode_ack, decode_batch, encode_raw, encode_raw_batch
from bohsense.contracts.events import Alarm, Event, decode_event
from bohsense.contracts.schema import Reading, ReadingBatch
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import ack_topic, readings_topic
from bohsense.edge.agent import EdgeAgent
from bohsense.edge.outbox_state import EntryState
from bohsense.edge.settings import load_settings
from tests.edge.conftest import synthetic, until, write_config
from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import wait_for

SITE = "site-urgent"


class Relay:
    """A TCP relay on loopback in front of the broker: ``cut`` drops every connection and
    refuses new ones until ``restore``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = True
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> Relay:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.transport.abort()
            return
        b_reader, b_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, b_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pipe(reader, b_writer), pipe(b_reader, writer))
        self._writers -= {writer, b_writer}

    def cut(self) -> None:
        self.up = False
        for w in list(self._writers):
            w.transport.abort()

    def restore(self) -> None:
        self.up = True

    async def close(self) -> None:
        self.cut()
        self._server.close()
        await self._server.wait_closed()


@dataclass
class Observer:
    """A plain MQTT subscriber (persistent session, QoS 1) recording what reaches the broker
    on some topics, in arrival order."""

    url: str
    topics: list[str]
    arrivals: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Observer:
        host, port = self.url.removeprefix("mqtt://").split(":")
        subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"observer-{uuid.uuid4().hex[:8]}", clean_session=False
        )
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in self.topics])
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.connect(host, int(port), 10)
        self.client.loop_start()
        assert subscribed.wait(10), "observer subscription"
        return self

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.arrivals.append((msg.topic, bytes(msg.payload)))

    def batches(self, topic: str) -> list[ReadingBatch]:
        with self.lock:
            return [decode_batch(p) for t, p in self.arrivals if t == topic]

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@dataclass
class Cloud:
    service: CloudService
    task: asyncio.Task[int]
    stop: asyncio.Event
    influx: InfluxDB
    db: str

    def stats(self) -> dict[str, Any]:
        return self.service.stats()

    def points(self, gateway: str) -> int:
        out = self.influx.query(
            f'SELECT count(*) FROM "shelf", "condition", "reader", "device" WHERE "gateway" = \'{gateway}\'',
            db=self.db,
        )
        series = out["results"][0].get("series", [])  # type: ignore[index,union-attr]
        return sum(int(v) for s in series for v in s["values"][0][1:] if v is not None)


@pytest.fixture
async def cloud(tmp_path: Path, own_mosquitto: Mosquitto, influxdb: InfluxDB) -> AsyncIterator[Cloud]:
    # the gateways are the test's: their ids are fixed by the catalog it writes
    gateways = ["gw-urgent", "gw-probe", "gw-condition"]
    catalog = {
        "sites": [{"id": SITE, "name": "Urgent test store"}],
        "gateways": [{"id": g, "site": SITE} for g in gateways],
    }
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    db = f"urgent_{uuid.uuid4().hex[:8]}"
    influxdb.create_database(db)
    settings = CloudSettings(
        broker_url=own_mosquitto.url,
        client_id=f"cloud-{uuid.uuid4().hex[:8]}",
        tsdb_url=f"{influxdb.url}?db={db}",
        database_url=f"sqlite:///{tmp_path / 'boh.sqlite3'}",
        catalog=tmp_path / "catalog.json",
        api_port=0,
    )
    service = CloudService(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await wait_for(lambda: service.ready.is_set() or task.done(), limit_s=30, what="the cloud service")
    assert service.ready.is_set(), f"cloud service failed: {task.exception()!r}"
    # a message published before the subscription is in place has no one to go to
    await wait_for(
        lambda: service.stats().get("subscribed") or task.done(), limit_s=30, what="the subscription"
    )
    try:
        yield Cloud(service, task, stop, influxdb, db)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.mark.long  # ~20 s; test_condition_alarm_after_outage.py runs the same ordering by default
async def test_an_alarm_raised_during_an_outage_reaches_the_cloud_before_the_backlog(
    tmp_path: Path, own_mosquitto: Mosquitto, cloud: Cloud
) -> None:
    gw = "gw-urgent"
    ticks = 400  # 20 s at 20 Hz, 4 devices x 2 metrics
    relay = await Relay(own_mosquitto.port).start()
    cfg = write_config(
        tmp_path / "gw.toml",
        gw,
        relay.url,
        tmp_path / "outbox.sqlite3",
        devices=synthetic(devices=4, rate_hz=20, limit=ticks),
    )
    cfg.write_text(cfg.read_text().replace('site = "test-site"', f'site = "{SITE}"'))
    observer = Observer(own_mosquitto.url, [readings_topic(gw)]).start()
    agent = EdgeAgent(load_settings(cfg, env={}))
    task = asyncio.create_task(agent.run())
    try:
        await until(lambda: agent.counters().get("acked", 0) >= 5, 30, "batches acknowledged by the cloud")

        relay.cut()  # the store's link to the broker goes down
        await until(lambda: agent.counters()["connected"] == 0, 30, "the gateway to notice the outage")
        assert agent.uplink is not None
        outage_ns = now_ns()  # nothing is published from here until the broker is back
        held_by_client = set(agent.uplink.states.seqs(EntryState.INFLIGHT))
        first_backlog = agent.counters()["next_seq"]
        await until(lambda: agent.counters()["next_seq"] >= first_backlog + 15, 30, "a backlog")

        alarm = Event(
            "gw-urgent", "device.alarm", now_ns(), Alarm("cooler.door", "critical", True, "door open")
        )
        agent.buffer.put_event(alarm)  # type: ignore[union-attr]  # the sink the drivers get
        await until(lambda: agent.counters()["urgent_batches"] == 1, 5, "the urgent batch in the outbox")
        assert agent.outbox is not None
        (urgent_entry,) = await agent.outbox.fetch_urgent(0, 10)
        urgent = urgent_entry.seq
        await until(lambda: agent.counters()["next_seq"] >= urgent + 10, 30, "more backlog after the alarm")

        relay.restore()
        expected = 4 * 2 * ticks
        await until(lambda: agent.counters()["driver.syn.readings"] == expected, 60, "the driver to finish")
        await until(lambda: agent.counters()["buffered"] == 0, 10, "everything batched")
        await until(lambda: agent.counters()["outbox_depth"] == 0, 60, "the outbox drained by CloudAcks")
        c = agent.counters()
        last = c["next_seq"] - 1
        await until(lambda: cloud.points(gw) >= expected, 30, "every reading in InfluxDB")
    finally:
        agent.stop()
        await asyncio.wait_for(task, 15)
        observer.stop()
        await relay.close()

    # arrival order at the broker: of what the gateway published after it reconnected
    # (``sent`` after the outage began), the urgent batch came first
    arrivals = observer.batches(readings_topic(gw))
    after = [b for b in arrivals if b.sent > outage_ns]
    assert after, "the backlog was published after the reconnect"
    assert after[0].seq == urgent, (
        f"the first batch after the outage is {after[0].seq}, not the urgent {urgent}"
    )
    assert after[0].urgent
    assert [decode_event(w) for w in after[0].events] == [alarm]
    backlog_below = {b.seq for b in after if b.seq < urgent} - held_by_client
    assert len(backlog_below) >= 15, "the urgent batch went ahead of a real backlog made before it"
    assert [b.seq for b in arrivals if b.urgent] == [urgent] * sum(b.urgent for b in arrivals)
    # the MQTT client's own resend of what it held at the outage carries the old ``sent``
    assert all(b.sent <= outage_ns for b in arrivals if b.seq in held_by_client and b.sent < after[0].sent)

    # 0 lost, 0 applied twice
    assert {b.seq for b in arrivals} == set(range(1, last + 1)), "every batch reached the broker"
    assert (c["dropped_readings"], c["lost_readings"], c["buffer_overflow"]) == (0, 0, 0)
    stats = cloud.stats()
    assert stats["batches_applied"] == last, "every seq applied, none twice"
    assert stats["readings_applied"] == c["readings_batched"] == expected
    assert cloud.points(gw) == expected
    assert stats["quarantined"] == 0


async def test_a_batch_ahead_of_its_seq_order_is_applied_at_once_and_the_ack_stays_contiguous(
    own_mosquitto: Mosquitto, cloud: Cloud
) -> None:
    gw = "gw-probe"
    acks = Observer(own_mosquitto.url, [ack_topic(gw)]).start()
    host, port = own_mosquitto.url.removeprefix("mqtt://").split(":")
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-probe-{uuid.uuid4().hex[:6]}")
    pub.connect(host, int(port), 10)
    pub.loop_start()

    def publish(seq: int) -> None:
        readings = [Reading("probe-1", "temp_c", now_ns() - 10**9 + seq, float(seq))]
        payload = encode_raw_batch(gateway=gw, seq=seq, sent=now_ns(), readings=encode_raw(readings), floor=1)
        pub.publish(readings_topic(gw), payload, qos=1).wait_for_publish(10)

    def last_ack() -> int | None:
        with acks.lock:
            got = [decode_ack(p).upto for t, p in acks.arrivals]
        return got[-1] if got else None

    try:
        base = cloud.stats()["batches_applied"]
        publish(3)  # ahead of 1 and 2, as an urgent batch after an outage
        await until(lambda: cloud.stats()["batches_applied"] == base + 1, 20, "seq 3 applied")
        await until(lambda: last_ack() is not None, 20, "the CloudAck after seq 3")
        assert last_ack() == 0, "applied, but the watermark waits for the gap"
        assert cloud.points(gw) == 1, "its readings are stored at once"
        publish(1)
        publish(2)
        await until(lambda: last_ack() == 3, 20, "the watermark past the filled gap")
        publish(3)  # sent again after a reconnect: a duplicate
        await until(lambda: cloud.stats()["duplicates"] >= 1, 20, "the duplicate counted")
        await asyncio.sleep(0.5)
        assert cloud.stats()["batches_applied"] == base + 3, "each seq applied once"
        assert cloud.points(gw) == 3
    finally:
        pub.loop_stop()
        pub.disconnect()
        acks.stop()
