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

from bohsense.bench._workload import make_workload
from bohsense.bench.servers import InfluxServer, MosquittoServer
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


def _baseline_argv(port: int, client_id: str, influx: InfluxServer, db: str, readings: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bohsense.bench._baseline",
        str(port),
        client_id,
        influx.url,
        db,
        str(readings),
    ]


def _worker_argv(
    broker: MosquittoServer,
    client_id: str,
    influx: InfluxServer,
    db: str,
    readings: int,
    work: Path,
    applier: str,
    protocol: int,
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bohsense.bench._worker_run",
        broker.url,
        client_id,
        influx.url,
        db,
        str(readings),
        str(work),
        applier,
        str(protocol),
    ]


def run_ingest(
    seconds: float, applier: str = "auto", mqtt_protocol: int = 5, rounds: int = 3
) -> dict[str, Any]:
    """``rounds`` rounds, each a fresh workload drained by both consumers in alternating
    order (so drift and neighbours' load hit both alike); rates are totals over the rounds."""
    per_round = max(10_000, int(seconds * ASSUMED_RATE / rounds)) // PER_MESSAGE * PER_MESSAGE
    n_messages = per_round // PER_MESSAGE
    gateways = 20
    totals = {"baseline": [0, 0.0], "worker": [0, 0.0]}  # readings, seconds
    ratios: list[float] = []
    worker: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bohsense-bench-") as tmp:
        work = Path(tmp)
        broker = MosquittoServer(work / "mosquitto").start()
        influx = InfluxServer(work / "influx").start()
        try:
            _say(
                f"mosquitto on {broker.port}, influxdb on {influx.port}; {rounds} rounds of {per_round:,} readings"
            )
            base_id, worker_id = "bench-baseline", "bench-worker"
            _make_session(broker.port, base_id, 4)
            _make_session(broker.port, worker_id, mqtt_protocol)
            limit = max(120.0, seconds * 15)
            for rnd in range(rounds):
                base_db = influx.create_database(f"baseline_{rnd}")
                worker_db = influx.create_database(f"worker_{rnd}")
                workload = make_workload(
                    n_messages,
                    per_message=PER_MESSAGE,
                    gateways=gateways,
                    first_seq=rnd * (n_messages // gateways + 1) + 1,
                )
                t = time.perf_counter()
                _publish(broker.port, workload)
                del workload
                _say(f"round {rnd + 1}: {n_messages} messages published in {time.perf_counter() - t:.1f} s")
                results: dict[str, dict[str, Any]] = {}
                order = ("baseline", "worker") if rnd % 2 == 0 else ("worker", "baseline")
                for who in order:
                    if who == "baseline":
                        argv = _baseline_argv(broker.port, base_id, influx, base_db, per_round)
                    else:
                        argv = _worker_argv(
                            broker, worker_id, influx, worker_db, per_round, work, applier, mqtt_protocol
                        )
                    res = _consume(argv, limit)
                    points = influx.count(base_db if who == "baseline" else worker_db)
                    if points != per_round:
                        raise RuntimeError(f"{who}: sent {per_round} readings, InfluxDB holds {points}")
                    totals[who][0] += res["readings"]
                    totals[who][1] += res["seconds"]
                    results[who] = res
                    _say(
                        f"round {rnd + 1}: {who}: {res['readings_per_s']:,.0f} readings/s ({points:,} points verified)"
                    )
                ratios.append(results["worker"]["readings_per_s"] / results["baseline"]["readings_per_s"])
                worker = results["worker"]
        finally:
            broker.stop()
            influx.stop()
    rate = totals["worker"][0] / totals["worker"][1]
    base_rate = totals["baseline"][0] / totals["baseline"][1]
    stats = worker["stats"]
    _say(f"applier: {worker['applier']}; worker MQTT {'5' if mqtt_protocol == 5 else '3.1.1'}")
    return {
        "readings_per_s": round(rate),
        "baseline_readings_per_s": round(base_rate),
        "ratio": round(rate / base_rate, 3),
        "round_ratios": [round(r, 3) for r in ratios],
        "rounds": rounds,
        "readings": per_round * rounds,
        "readings_per_message": PER_MESSAGE,
        "worker_seconds": round(totals["worker"][1], 2),
        "baseline_seconds": round(totals["baseline"][1], 2),
        "points_verified": True,
        "applier": worker["applier"],
        "worker_mqtt": "5" if mqtt_protocol == 5 else "3.1.1",
        "baseline_mqtt": "3.1.1",
        "worker_last_round": {
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
