"""The composition root with the real BOH core, a real Mosquitto and InfluxDB 1.x."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bohsense.cloud.service import CloudService
from bohsense.cloud.settings import CloudSettings
from bohsense.contracts.codec import encode
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import readings_topic
from tests.cloud.ingest._harness import publish, until
from tests.cloud.tsdb._data import make_batch, unique
from tests.support.services import InfluxDB, Mosquitto


async def test_service_ingests_and_serves_then_stops_cleanly(
    mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path
) -> None:
    db = unique("svc")
    settings = CloudSettings(
        broker_url=mosquitto.url,
        client_id=unique("svc"),
        tsdb_url=f"influx1://127.0.0.1:{influxdb.port}/{db}",
        database_url=f"sqlite:///{tmp_path}/boh.db",
        api_port=0,
        auto_register_gateways=True,  # no catalog: the gateway is trusted as it reports
    )
    service = CloudService(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    async with asyncio.timeout(30):
        await service.ready.wait()
    assert service.worker is not None
    async with asyncio.timeout(15):
        await service.worker.connected.wait()
    gw = unique("gw")
    t0 = now_ns() - 10**10
    batches = [make_batch(gw, seq, 20, t0=t0 + seq * 10**8) for seq in (1, 2, 3, 2)]
    await publish(mosquitto, [(readings_topic(b.gateway), encode(b)) for b in batches])
    await until(lambda: service.stats().get("mqtt_acks", 0) >= 4, what="4 messages committed")
    stats = service.stats()
    assert (stats["batches_applied"], stats["duplicates"]) == (3, 1)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.api_port}") as http:
        health = (await http.get("/api/v1/health")).json()
    assert health["ok"] is True
    assert health["ingest"]["batches_applied"] == 3
    assert service.store is not None
    latest = await service.store.latest(gateways=[gw])
    assert [(p.device, p.ts) for p in latest] == [("dev-1", t0 + 3 * 10**8 + 19 * 10**6)]
    stop.set()
    async with asyncio.timeout(20):
        assert await task == 0


def test_cli_runs_until_sigterm(mosquitto: Mosquitto, tmp_path: Path) -> None:
    root = Path(__file__).parents[2]
    log = tmp_path / "cloud.log"
    env = {**os.environ, "BOHSENSE_CLOUD_CLIENT_ID": unique("cli")}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bohsense",
                "cloud",
                "run",
                "--broker",
                mosquitto.url,
                "--tsdb",
                f"sqlite:///{tmp_path}/ts.db",
                "--database",
                f"sqlite:///{tmp_path}/boh.db",
                "--api-port",
                "0",
            ],
            stdout=out,
            stderr=out,
            cwd=root,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        while not (m := re.search(r"api=http://127.0.0.1:(\d+)", log.read_text())):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        r = httpx.get(f"http://127.0.0.1:{m.group(1)}/api/v1/health", timeout=10)
        assert r.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_refuses_unsafe_settings(tmp_path: Path) -> None:
    env = {**os.environ, "BOHSENSE_CLOUD_API_HOST": "0.0.0.0"}
    env.pop("BOHSENSE_CLOUD_API_TOKEN", None)
    r = subprocess.run(
        [sys.executable, "-m", "bohsense", "cloud", "run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 78
    assert "without a token" in r.stderr


async def test_service_stops_within_its_limit_while_the_database_refuses_every_write(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """SIGTERM's path (the stop event) while the BOH core keeps failing: the service stops in
    well under ``shutdown_timeout_s`` and the message stays unacknowledged; /health says why."""
    import sqlalchemy as sa

    from tests.cloud.boh.faults import FailStatements

    settings = CloudSettings(
        broker_url=mosquitto.url,
        client_id=unique("svc"),
        tsdb_url=f"sqlite:///{tmp_path}/ts.db",
        database_url=f"sqlite:///{tmp_path}/boh.db",
        api_port=0,
        shutdown_timeout_s=10,
        stall_after_s=0.5,
        auto_register_gateways=True,  # no catalog: about the failing database, not registry trust
    )
    service = CloudService(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    async with asyncio.timeout(30):
        await service.ready.wait()
    assert service.worker is not None
    async with asyncio.timeout(15):
        await service.worker.connected.wait()
    FailStatements(service.core, "INSERT INTO gateways", sa.exc.OperationalError, times=10**9)
    await publish(mosquitto, [(readings_topic(g), encode(make_batch(g, 1, 5))) for g in [unique("gw")]])
    await until(lambda: service.stats().get("apply_retries", 0) >= 3, what="failing BOH calls")
    await until(
        lambda: any("BOH core calls have failed" in p for p in service.stats().get("problems", [])),
        what="the failing BOH core reported",
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.api_port}") as http:
        r = await http.get("/api/v1/health")
    assert r.status_code == 503
    assert any("BOH core calls have failed" in p for p in r.json()["ingest_problems"])
    started = time.monotonic()
    stop.set()
    async with asyncio.timeout(20):
        assert await task == 0
    assert time.monotonic() - started < 3.0, "stopped without waiting for the shutdown time limit"
    assert service.worker.stats.mqtt_acks == 0, "what was not applied stays unacknowledged"
