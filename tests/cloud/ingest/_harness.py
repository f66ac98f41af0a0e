"""Running an IngestWorker against real services in a test."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import aiomqtt

from bohsense.cloud.ingest import IngestConfig, IngestWorker
from bohsense.cloud.tsdb import TimeSeriesStore
from bohsense.contracts.codec import encode
from bohsense.contracts.schema import ReadingBatch
from bohsense.contracts.topics import readings_topic
from tests.cloud.ingest._memory import MemoryApplier
from tests.support.services import InfluxDB, Mosquitto


def config(broker: Mosquitto, client_id: str, **overrides: object) -> IngestConfig:
    base: dict[str, object] = dict(
        broker_url=broker.url,
        client_id=client_id,
        batch_max_ms=20.0,
        retry_initial_s=0.05,
        retry_max_s=0.3,
        reconnect_initial_s=0.05,
        reconnect_max_s=0.5,
    )
    base.update(overrides)
    return IngestConfig(**base)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(
    store: TimeSeriesStore, applier: MemoryApplier, cfg: IngestConfig
) -> AsyncIterator[IngestWorker]:
    worker = IngestWorker(store, applier, cfg, recorder=applier)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(15):
            await worker.connected.wait()
        yield worker
    finally:
        stop.set()
        async with asyncio.timeout(15):
            await task


async def until(cond: Callable[[], object], limit_s: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def publish(broker: Mosquitto, items: list[tuple[str, bytes]], protocol: int = 4) -> None:
    version = aiomqtt.ProtocolVersion.V5 if protocol == 5 else aiomqtt.ProtocolVersion.V311
    async with aiomqtt.Client("127.0.0.1", broker.port, protocol=version) as client:
        for topic, payload in items:
            await client.publish(topic, payload, qos=1)


def as_messages(batches: list[ReadingBatch]) -> list[tuple[str, bytes]]:
    return [(readings_topic(b.gateway), encode(b)) for b in batches]


def influx_count(influxdb: InfluxDB, db: str, gateway: str) -> int:
    try:
        res = influxdb.query(
            f"SELECT count(*) FROM shelf, condition, reader, device WHERE gateway = '{gateway}'", db
        )
    except OSError:
        return -1
    series = res["results"][0].get("series") or []  # type: ignore[index]
    return sum(int(v) for s in series for v in s["values"][0][1:] if v is not None)
