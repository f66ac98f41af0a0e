"""A technician's alert-feed subscriber that stops reading (QoS 1, persistent session,
connected but never reading its socket) while alert notices keep coming: the broker queues
for it within its limits, and ingest goes on at the rate it has without that subscriber."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bohsense.bench._workload import make_workload
from bohsense.cloud import CloudService, CloudSettings
from bohsense.contracts.topics import alert_topic
from tests.faults._cloud_faults import Figures
from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import wait_for

GATEWAYS = 4
MESSAGES = 1500  # per phase, 100 readings each
NOTICES = 20_000  # alert notices published while the subscriber does not read, ~1 KB each
#: ingest with the stalled subscriber keeps at least this share of its rate without it
MIN_RATIO = 0.5


def publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    acked = threading.Semaphore(0)
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"slow-pub-{uuid.uuid4().hex[:8]}")
    c.max_queued_messages_set(0)
    c.on_publish = lambda *_a: acked.release()
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        for i, (topic, payload) in enumerate(messages):
            if i >= 1000:
                acked.acquire()  # bound what paho holds unacknowledged
            c.publish(topic, payload, qos=1)
        for _ in range(min(1000, len(messages))):
            if not acked.acquire(timeout=60):
                raise AssertionError("the broker stopped acknowledging")
    finally:
        c.disconnect()
        c.loop_stop()


class AlertSubscriber:
    """MQTT 5, persistent session, QoS 1 on every gateway's alert topic; ``stall()`` stops
    reading the socket (the connection stays open), ``drain()`` reads again and counts."""

    def __init__(self, port: int) -> None:
        self.received = 0
        self.c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"slow-tech-{uuid.uuid4().hex[:6]}",
                             protocol=paho.MQTTv5)  # fmt: skip
        self.c.on_message = self._on_message
        subscribed = threading.Event()
        self.c.on_subscribe = lambda *_a: subscribed.set()
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        self.c.connect("127.0.0.1", port, clean_start=False, properties=props)
        self.c.loop_start()
        self.c.subscribe("bohsense/v1/gw/+/alert", qos=1)
        if not subscribed.wait(10):
            raise AssertionError("the alert subscriber got no SUBACK")

    def _on_message(self, *_a: object) -> None:
        self.received += 1

    def stall(self) -> None:
        self.c.loop_stop()  # nobody reads the socket any more; it stays connected

    def resume(self) -> None:
        self.c.loop_start()

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _rate(service: CloudService, port: int, messages: list[tuple[str, bytes]]) -> float:
    """Readings/s from the first publish until the BOH core has applied them all."""
    target = service.stats()["readings_applied"] + sum(100 for _ in messages)
    t0 = time.monotonic()
    await asyncio.to_thread(publish, port, messages)
    await wait_for(lambda: service.stats()["readings_applied"] >= target, limit_s=120,
                   what="the phase's readings applied", every_s=0.02)  # fmt: skip
    return len(messages) * 100 / (time.monotonic() - t0)


@pytest.mark.long  # ~30 s: beyond the default run's time budget
async def test_a_stalled_alert_subscriber_does_not_slow_ingest(
    tmp_path: Path, own_mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    db = influxdb.create_database(f"slow_{uuid.uuid4().hex[:8]}")
    settings = CloudSettings(
        broker_url=own_mosquitto.url,
        client_id=f"cloud-slow-{uuid.uuid4().hex[:6]}",
        tsdb_url=f"{influxdb.url}?db={db}",
        database_url=f"sqlite:///{tmp_path / 'boh.sqlite3'}",
        auto_register_gateways=True,
        api_port=0,
        gateway_silence_s=0,
    )
    service = CloudService(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await wait_for(lambda: service.ready.is_set() or task.done(), limit_s=30, what="cloud service")
    assert service.ready.is_set(), f"cloud service failed: {task.exception()!r}"
    per_gw = MESSAGES // GATEWAYS
    warm = make_workload(200, gateways=GATEWAYS, first_seq=1)
    plain = make_workload(MESSAGES, gateways=GATEWAYS, first_seq=200 // GATEWAYS + 1)
    slow = make_workload(MESSAGES, gateways=GATEWAYS, first_seq=200 // GATEWAYS + per_gw + 1)
    gws = sorted({f"bench-gw-{g:03d}" for g in range(GATEWAYS)})
    notice = b'{"pad": "' + b"x" * 1000 + b'"}'
    notices = [(alert_topic(gws[i % GATEWAYS]), notice) for i in range(NOTICES)]
    tech: AlertSubscriber | None = None
    assert own_mosquitto.proc is not None
    pid = own_mosquitto.proc.pid
    try:
        await _rate(service, own_mosquitto.port, warm)  # tables, connections and caches warm
        base = await _rate(service, own_mosquitto.port, plain)
        tech = AlertSubscriber(own_mosquitto.port)
        tech.stall()
        rss_before = rss_kib(pid)
        flood = asyncio.create_task(asyncio.to_thread(publish, own_mosquitto.port, notices))
        with_slow = await _rate(service, own_mosquitto.port, slow)
        await flood
        rss_after = rss_kib(pid)
        stats = service.stats()
        tech.resume()  # it reads again: every notice was kept for it, within the broker's limits
        await wait_for(lambda: tech.received >= NOTICES, limit_s=60, what="the queued notices", every_s=0.1)
        await asyncio.sleep(0.5)
        received = tech.received
    finally:
        if tech is not None:
            tech.close()
        stop.set()
        await asyncio.wait_for(task, 30)
    ratio = with_slow / base
    produced = (200 + 2 * MESSAGES) * 100
    stored = influxdb.count(db)
    Figures("stalled alert-feed subscriber (QoS 1, persistent)", produced, stored, produced - stored,
            stats["readings_applied"] - produced, 0.0,
            {"readings_per_s_without": round(base), "readings_per_s_with": round(with_slow),
             "ratio": round(ratio, 2), "notices_queued": NOTICES, "notices_received": received,
             "broker_rss_growth_mib": round((rss_after - rss_before) / 1024, 1)}).report()  # fmt: skip
    assert stored == produced, "no reading lost"
    assert stats["readings_applied"] == produced, "none applied twice"
    assert received == NOTICES, "the broker kept every notice within its queue limits, and no more"
    assert ratio >= MIN_RATIO, f"ingest with the stalled subscriber at {ratio:.2f} of its rate without"
