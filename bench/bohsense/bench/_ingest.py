"""``bohsense bench ingest``: the ingest worker against the simplest loop, same run.

1. Start Mosquitto and InfluxDB 1.x on free ports in a temporary directory.
2. Create two persistent sessions (baseline, worker) subscribed to every gateway's
   readings, then publish the workload once: the broker queues a copy for each.
3. Drain each session with its consumer in its own process: first the baseline, then
   the worker. Each measures from its first message to its last stored reading; the
   points in InfluxDB are counted afterwards to verify that every reading arrived.

``seconds`` sizes the workload: each phase runs about that long at ~250k readings/s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bohsense.bench._servers import InfluxServer, MosquittoServer
from bohsense.bench._workload import make_workload
from bohsense.contracts.topics import ALL_READINGS, ALL_STATUS

__all__ = ["run_ingest"]

PER_MESSAGE = 100
ASSUMED_RATE = 250_000


def _say(msg: str) -> None:
    print(f"[bench ingest] {msg}", file=sys.stderr, flush=True)


def _make_session(port: int, client_id: str, protocol: int) -> None:
    """Connect once with a persistent session and subscribe, so the broker queues for it."""
    done = threading.Event()
    if protocol == 5:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        client.connect("127.0.0.1", port, clean_start=False, properties=props)
    else:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        client.connect("127.0.0.1", port)
    client.on_subscribe = lambda *_a: done.set()
    client.loop_start()
    client.subscribe([(ALL_READINGS, 1), (ALL_STATUS, 1)] if protocol == 5 else [(ALL_READINGS, 1)])
    if not done.wait(10):
        raise RuntimeError("no SUBACK")
    client.disconnect()
    client.loop_stop()


def _publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    acked = threading.Semaphore(0)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_queued_messages_set(0)
    client.on_publish = lambda *_a: acked.release()
    client.connect("127.0.0.1", port)
    client.loop_start()
    window = 2000
    for i, (topic, payload) in enumerate(messages):
        if i >= window:
            acked.acquire()  # bound what paho holds unacknowledged (its packet ids wrap at 65,535)
        client.publish(topic, payload, qos=1)
    for _ in range(min(window, len(messages))):
        if not acked.acquire(timeout=60):
            raise RuntimeError("publisher: broker stopped acknowledging")
    client.disconnect()
    client.loop_stop()


def _consume(argv: list[str], timeout: float) -> dict[str, Any]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[2]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def run_ingest(seconds: float, applier: str = "auto", mqtt_protocol: int = 5) -> dict[str, Any]:
    readings = max(10_000, int(seconds * ASSUMED_RATE)) // PER_MESSAGE * PER_MESSAGE
    n_messages = readings // PER_MESSAGE
    with tempfile.TemporaryDirectory(prefix="bohsense-bench-") as tmp:
        work = Path(tmp)
        broker = MosquittoServer(work / "mosquitto").start()
        influx = InfluxServer(work / "influx").start()
        try:
            _say(f"mosquitto on {broker.port}, influxdb on {influx.port}")
            base_db, worker_db = influx.create_database("baseline"), influx.create_database("worker")
            base_id, worker_id = "bench-baseline", "bench-worker"
            _make_session(broker.port, base_id, 4)
            _make_session(broker.port, worker_id, mqtt_protocol)
            t = time.perf_counter()
            workload = make_workload(n_messages, per_message=PER_MESSAGE)
            _say(f"{n_messages} messages of {PER_MESSAGE} readings made in {time.perf_counter() - t:.1f} s")
            t = time.perf_counter()
            _publish(broker.port, workload)
            del workload
            _say(f"published in {time.perf_counter() - t:.1f} s; the broker queues a copy per session")
            limit = max(120.0, seconds * 15)
            _say("baseline: paho → msgspec → f-string line protocol → POST 5000 points")
            baseline = _consume(
                [
                    sys.executable,
                    "-m",
                    "bohsense.bench._baseline",
                    str(broker.port),
                    base_id,
                    influx.url,
                    base_db,
                    str(readings),
                ],
                limit,
            )
            base_points = influx.count(base_db)
            _say(f"baseline: {baseline['readings_per_s']:,.0f} readings/s, {base_points} points in InfluxDB")
            _say("worker: IngestWorker (checks, BOH core dedup, manual acks, CloudAck)")
            worker = _consume(
                [
                    sys.executable,
                    "-m",
                    "bohsense.bench._worker_run",
                    broker.url,
                    worker_id,
                    influx.url,
                    worker_db,
                    str(readings),
                    str(work),
                    applier,
                    str(mqtt_protocol),
                ],
                limit,
            )
            worker_points = influx.count(worker_db)
            _say(
                f"worker: {worker['readings_per_s']:,.0f} readings/s, {worker_points} points, applier: {worker['applier']}"
            )
        finally:
            broker.stop()
            influx.stop()
    if base_points != readings or worker_points != readings:
        raise RuntimeError(
            f"lost readings: sent {readings}, baseline stored {base_points}, worker {worker_points}"
        )
    stats = worker["stats"]
    return {
        "readings_per_s": round(worker["readings_per_s"]),
        "baseline_readings_per_s": round(baseline["readings_per_s"]),
        "ratio": round(worker["readings_per_s"] / baseline["readings_per_s"], 3),
        "readings": readings,
        "messages": n_messages,
        "readings_per_message": PER_MESSAGE,
        "worker_seconds": round(worker["seconds"], 2),
        "baseline_seconds": round(baseline["seconds"], 2),
        "points_verified": {"worker": worker_points, "baseline": base_points},
        "applier": worker["applier"],
        "worker_mqtt": "5" if mqtt_protocol == 5 else "3.1.1",
        "baseline_mqtt": "3.1.1",
        "worker": {
            k: stats[k]
            for k in (
                "commits",
                "batches_applied",
                "duplicates",
                "quarantined",
                "acks_published",
                "storage_retries",
            )
        },
    }
