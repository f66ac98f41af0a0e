"""The BOH core's PostgreSQL connections are cut mid-run, as in a failover: every connection
through a TCP proxy the test controls is reset and new ones are refused for a few seconds;
or the server terminates the cloud's own backends (``pg_terminate_backend``). The shared
server itself keeps running. Ingest retries while the core is unavailable and loses
nothing: 0 lost, 0 applied twice."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from pathlib import Path

import psycopg
import pytest

from tests.faults._cloud_faults import TcpProxy, recovered_after, score, settled_stats, via_proxy
from tests.support.services import PG_ADMIN_URL, InfluxDB, Mosquitto
from tests.system.harness import StoreSystem


async def _run(s: StoreSystem, fault: str, inject, *, retries: bool) -> None:  # type: ignore[no-untyped-def]
    await s.start()
    try:
        s.play()
        await asyncio.sleep(3)
        assert sum(s.stored().values()) > 0, "readings flow before the fault"
        before = s.service.stats()["apply_retries"]
        restored = await inject()
        recover_s = await recovered_after(s, restored)
        await asyncio.sleep(2)  # live data after the fault
        s.pause()
        stored = await s.drain(limit_s=90)
        stats = await settled_stats(s)
    finally:
        await s.close()
    fig = score(s, fault, recover_s, stored, stats["readings_applied"],
                apply_retries=stats["apply_retries"] - before, duplicates=stats["duplicates"])  # fmt: skip
    fig.report()
    assert fig.lost == 0, fig
    assert fig.applied_twice == 0, fig
    assert stats["quarantined"] == 0, stats["quarantined_by_reason"]
    if retries:  # refused for seconds: the core was unavailable and the calls were retried
        assert fig.extra["apply_retries"] >= 1, "the fault reached the cloud"


@pytest.mark.long  # the default run keeps to its time budget; figures in docs/reliability.md
async def test_postgres_connections_reset_and_refused_lose_nothing(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB, pg_url: str
) -> None:
    u = urllib.parse.urlsplit(pg_url)
    proxy = TcpProxy(u.hostname or "127.0.0.1", u.port or 5432)
    await proxy.accept()
    s = StoreSystem(tmp_path, mosquitto.url, influxdb, via_proxy(pg_url, proxy.port))

    async def failover() -> float:
        assert proxy.connections > 0, "the cloud reaches PostgreSQL through the proxy"
        await proxy.refuse()
        cut = proxy.cut()
        assert cut > 0, "open connections were cut"
        await asyncio.sleep(4)  # the old primary is gone, the new one not up yet
        await proxy.accept()
        return time.monotonic()

    try:
        await _run(s, "PostgreSQL connections reset, refused 4 s", failover, retries=True)
    finally:
        await proxy.close()


@pytest.mark.long  # in the long run only: the default run keeps to its time budget
async def test_postgres_backends_terminated_lose_nothing(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB, pg_url: str
) -> None:
    s = StoreSystem(tmp_path, mosquitto.url, influxdb, pg_url)
    name = urllib.parse.urlsplit(pg_url).path.lstrip("/")

    async def terminate() -> float:
        killed = 0
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            for _ in range(6):  # again and again, as connections come back
                rows = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                ).fetchall()
                killed += sum(1 for (ok,) in rows if ok)
                await asyncio.sleep(0.5)
        # the pool checks a connection before each use (pre-ping) and replaces a dead one
        assert killed > 0, "the cloud's backends were terminated"
        return time.monotonic()

    await _run(s, "PostgreSQL backends terminated (6 × in 3 s)", terminate, retries=False)
