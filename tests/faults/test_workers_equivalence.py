"""One worker or three on MQTT 5 shared subscriptions, the same answer.

A recorded stream — raw batches of several stores' gateways (shelf lanes going below their
reorder point, a compressor's vibration crossing its limit and falling back), with
duplicates and reordering injected — is published to a real Mosquitto and consumed first
by one cloud worker process, then by three on ``$share/<group>/…`` (each its own client id
and persistent session, one fresh PostgreSQL database and one InfluxDB database per run).
After the drain, the stock, alerts, work orders, replenishment proposals and the stored
InfluxDB points are the same.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bohsense.cloud.tsdb._lineproto import MEASUREMENTS
from bohsense.contracts.codec import encode
from bohsense.contracts.schema import Reading, ReadingBatch
from bohsense.contracts.topics import readings_topic
from bohsense.demo import ASSET, LANES, SENSOR, SHELF, DemoStore
from tests.faults._cloud_faults import CloudProcess, Figures
from tests.support.services import InfluxDB, Mosquitto, postgres_database
from tests.system.harness import wait_for

GATEWAYS = 4
SEQS = 60  # batches per gateway, one second of event time each
PER_SERIES = 5  # readings per series per batch


def recorded_stream(tag: str, seed: int = 11) -> tuple[dict[str, Any], list[tuple[str, bytes]], int, int]:
    """(catalog, messages in publishing order, distinct batches, distinct readings)."""
    catalog: dict[str, Any] = {"sites": [], "gateways": [], "skus": [], "assets": [], "locations": []}
    base = time.time_ns() - 900 * 10**9
    batches: list[ReadingBatch] = []
    readings = 0
    for g in range(GATEWAYS):
        gw = f"eq-{tag}-gw{g}"
        store = DemoStore(60.0, gateway=gw, site=f"eq-{tag}-site{g}").catalog()
        for asset in store["assets"]:
            asset["id"] = f"{ASSET}-{g}"
        for key in ("sites", "gateways", "assets", "locations"):
            catalog[key] += store[key]
        if not catalog["skus"]:
            catalog["skus"] = store["skus"]
        for seq in range(1, SEQS + 1):
            rs: list[Reading] = []
            for k in range(PER_SERIES):
                ts = base + seq * 10**9 + k * 200_000_000
                for i, (_, _, _, _, start, *_rest) in enumerate(LANES):
                    units = max(0, start - (seq * (i + 1 + g)) // 12)  # every lane sells, at its own pace
                    rs.append(Reading(f"{SHELF}.lane-{i + 1}", "units", ts, float(units)))
                vib = 9.0 + 0.1 * k if 20 <= seq < 40 else 2.0 + 0.05 * k  # over the limit for 20 s
                rs.append(Reading(SENSOR, "vib_rms_mm_s", ts, vib))
                rs.append(Reading(SENSOR, "temp_c", ts, 4.0 + 0.01 * seq))
            readings += len(rs)
            batches.append(ReadingBatch(gateway=gw, seq=seq, sent=time.time_ns(), readings=rs))
    rng = random.Random(seed)
    order = sorted(batches, key=lambda b: (b.seq, b.gateway))  # the gateways interleaved
    stream = list(order)
    for b in rng.sample(order, len(order) // 10):  # 10 % sent again, a little later
        stream.insert(min(len(stream), stream.index(b) + rng.randint(1, 30)), b)
    for start in range(0, len(stream), 12):  # reordered within windows of 12 messages
        window = stream[start : start + 12]
        rng.shuffle(window)
        stream[start : start + 12] = window
    messages = [(readings_topic(b.gateway), encode(b)) for b in stream]
    return catalog, messages, len(batches), readings


def publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    """QoS 1, in order, waiting for every PUBACK."""
    acked = threading.Semaphore(0)
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"eq-pub-{uuid.uuid4().hex[:8]}")
    c.on_publish = lambda *_a: acked.release()
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        for topic, payload in messages:
            c.publish(topic, payload, qos=1)
        for _ in messages:
            if not acked.acquire(timeout=60):
                raise AssertionError("the broker stopped acknowledging the recorded stream")
    finally:
        c.disconnect()
        c.loop_stop()


def _write_catalog(tmp: Path, catalog: dict[str, Any]) -> None:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "catalog.json").write_text(json.dumps(catalog))


def _sql(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def applied(url: str, gateways: list[str]) -> int:
    with psycopg.connect(_sql(url)) as c:
        rows = c.execute("SELECT id, watermark FROM gateways WHERE id = ANY(%s)", (gateways,)).fetchall()
        (above,) = c.execute(
            "SELECT count(*) FROM ingest_seq WHERE gateway = ANY(%s)", (gateways,)
        ).fetchone()
    return sum(int(m) for _, m in rows) + int(above)


def outcome(url: str, influx: InfluxDB, db: str) -> dict[str, list[Any]]:
    """What the run produced, without ids and wall-clock times."""
    queries = {
        "stock": "SELECT site, sku, location, units, as_of_ns FROM stock_levels ORDER BY 1, 2, 3",
        "alerts": "SELECT asset_id, site, condition, severity, state, occurrences, reopened, cleared_ns IS NULL"
        " FROM alerts ORDER BY 1, 3, 5",
        "work_orders": "SELECT w.asset_id, w.site, w.kind, w.title, w.state, w.priority, a.condition"
        " FROM work_orders w LEFT JOIN alerts a ON a.id = w.alert_id ORDER BY 1, 4",
        # not sensed_units: it is the stock when the quantity was last decided, which depends on
        # where the stream was cut into micro-batches (a later reading that leaves the quantity
        # as it is does not rewrite it), not only on the data
        "proposals": "SELECT site, sku, location, state, reorder_point, target, safety_stock,"
        " pack_size, quantity, quantity_source, priority FROM replenishment_proposals ORDER BY 1, 2, 3, 4",
    }
    out: dict[str, list[Any]] = {}
    with psycopg.connect(_sql(url)) as c:
        for name, q in queries.items():
            out[name] = [tuple(r) for r in c.execute(q).fetchall()]
    names = ", ".join(f'"{m}"' for m in MEASUREMENTS)
    res = influx.query(f"SELECT * FROM {names} GROUP BY *", db=db)
    points = []  # one per stored reading: (measurement, tags, time, field, value)
    for series in res["results"][0].get("series", []):
        tags = tuple(sorted(series["tags"].items()))
        cols = series["columns"]
        for row in series["values"]:
            for column, value in zip(cols[1:], row[1:], strict=True):
                if value is not None:
                    points.append((series["name"], tags, row[0], column, json.dumps(value)))
    out["points"] = sorted(points)
    return out


Stream = tuple[dict[str, Any], list[tuple[str, bytes]], int, int]


async def run_workers(
    tmp: Path, mosquitto: Mosquitto, influx: InfluxDB, stream: Stream, workers: int
) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    catalog, messages, n_batches, n_readings = stream
    gateways = [g["id"] for g in catalog["gateways"]]
    tag = f"{uuid.uuid4().hex[:6]}w{workers}"
    await asyncio.to_thread(_write_catalog, tmp, catalog)
    db = influx.create_database(f"eq_{tag}")
    group = f"eq-{tag}"
    with postgres_database() as url:
        clouds = []
        for w in range(workers):
            env = {
                "BOHSENSE_CLOUD_BROKER_URL": mosquitto.url,
                "BOHSENSE_CLOUD_CLIENT_ID": f"eq-{tag}-worker{w}",
                "BOHSENSE_CLOUD_TSDB_URL": f"{influx.url}?db={db}",
                "BOHSENSE_CLOUD_DATABASE_URL": url,
                "BOHSENSE_CLOUD_CATALOG": str(tmp / "catalog.json"),
                "BOHSENSE_CLOUD_GATEWAY_SILENCE_S": "0",
            }
            if workers > 1:
                env["BOHSENSE_CLOUD_SHARED_GROUP"] = group
            clouds.append(CloudProcess(tmp, env))
        try:
            await clouds[0].start()  # migrates the fresh database and loads the catalog first
            await asyncio.gather(*(c.start() for c in clouds[1:]))
            t0 = time.monotonic()
            await asyncio.to_thread(publish, mosquitto.port, messages)
            await wait_for(lambda: applied(url, gateways) == n_batches, limit_s=120,
                           what=f"{n_batches} batches applied", every_s=0.2)  # fmt: skip
            await wait_for(lambda: influx.count(db) == n_readings, limit_s=60,
                           what=f"{n_readings} points", every_s=0.2)  # fmt: skip
            drain_s = time.monotonic() - t0
            await asyncio.sleep(1.5)  # the last commits' effects and acknowledgements
            ingest = [await c.ingest() for c in clouds]
            result = outcome(url, influx, db)
        finally:
            for c in clouds:
                c.stop()
    figures = {
        "messages": len(messages),
        "batches": n_batches,
        "readings": n_readings,
        "drain_s": round(drain_s, 2),
        "per_worker_batches": [i["batches_applied"] for i in ingest],
        "duplicates": sum(i["duplicates"] for i in ingest),
        "readings_applied": sum(i["readings_applied"] for i in ingest),
        "quarantined": sum(i["quarantined"] for i in ingest),
        "points": len(result["points"]),
        **{name: len(result[name]) for name in ("stock", "alerts", "work_orders", "proposals")},
    }
    return result, figures


@pytest.mark.long
async def test_one_worker_and_three_on_shared_subscriptions_agree(
    tmp_path: Path, own_mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    stream = recorded_stream(uuid.uuid4().hex[:6])  # recorded once, played to both
    one, f1 = await run_workers(tmp_path / "one", own_mosquitto, influxdb, stream, 1)
    three, f3 = await run_workers(tmp_path / "three", own_mosquitto, influxdb, stream, 3)
    for name, f in (("1 worker", f1), ("3 workers", f3)):
        Figures(f"recorded stream, {name}", f["readings"], f["points"], f["readings"] - f["points"],
                f["readings_applied"] - f["readings"], f["drain_s"], f).report()  # fmt: skip
    assert all(n > 0 for n in f3["per_worker_batches"]), f"every worker took a share: {f3}"
    for f in (f1, f3):
        assert f["readings_applied"] == f["readings"], f"each reading applied exactly once: {f}"
        assert f["duplicates"] == f["messages"] - f["batches"], f
        assert f["quarantined"] == 0, f
    assert one["stock"], "the stream moved stock"
    assert one["alerts"], "the stream raised an alert"
    assert one["proposals"], "the stream proposed replenishment"
    assert len(one["points"]) == f1["readings"]
    for name in ("stock", "alerts", "work_orders", "proposals", "points"):
        assert three[name] == one[name], f"{name} differ between 1 and 3 workers"
