"""``GET /metrics`` of a running cloud service, scraped and parsed as Prometheus would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bohsense.cloud.service import CloudService
from bohsense.cloud.settings import CloudSettings
from bohsense.contracts.codec import encode
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import readings_topic
from tests.cloud.ingest._harness import publish, until
from tests.cloud.tsdb._data import make_batch, unique
from tests.support.services import Mosquitto

TOKEN = "metrics-token-0123456789abcdef-XYZ"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_ingest_and_api_latency_are_scraped_behind_the_token(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    settings = CloudSettings(
        broker_url=mosquitto.url,
        client_id=unique("metrics"),
        tsdb_url=f"sqlite:///{tmp_path}/ts.db",
        database_url=f"sqlite:///{tmp_path}/boh.db",
        api_port=0,
        api_token=TOKEN,
        auto_register_gateways=True,
    )
    service = CloudService(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    async with asyncio.timeout(30):
        await service.ready.wait()
        assert service.worker is not None
        await service.worker.connected.wait()
    gw = unique("gw")
    t0 = now_ns() - 10**10
    batches = [make_batch(gw, seq, 10, t0=t0 + seq * 10**8) for seq in (1, 2, 2)]
    await publish(mosquitto, [(readings_topic(b.gateway), encode(b)) for b in batches])
    await until(lambda: service.stats().get("mqtt_acks", 0) >= 3, what="3 messages committed")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.api_port}") as http:
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/api/v1/alerts/999999", headers=auth)).status_code == 404
        assert (await http.get("/api/v1/alerts", headers=auth)).status_code == 200
        assert (await http.get("/metrics?x=1", headers=auth)).status_code == 422
        answer = await http.get("/metrics", headers=auth)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    got = samples(answer.text)
    assert got[("bohsense_cloud_ingest_batches_applied_total", ())] == 2
    assert got[("bohsense_cloud_ingest_duplicates_total", ())] == 1
    assert got[("bohsense_cloud_ingest_readings_stored_total", ())] == 20
    assert got[("bohsense_cloud_ingest_subscribed", ())] == 1
    count = "bohsense_cloud_api_request_duration_seconds_count"
    # the route template, not the raw path: one series for every alert id
    assert got[(count, (("method", "GET"), ("route", "/api/v1/alerts/{alert_id}"), ("status", "4xx")))] == 1
    assert got[(count, (("method", "GET"), ("route", "/api/v1/alerts"), ("status", "2xx")))] == 1
    assert TOKEN not in answer.text
    stop.set()
    async with asyncio.timeout(20):
        assert await task == 0
