"""The same fault reported twice, to two cloud worker processes at once, on a real broker:
exactly one open alert, one work order, and one "opened" notice for the technicians.

Both workers subscribe to every gateway (no shared subscription), so each receives every
copy of every batch; each batch is published twice, and the fault is then reported again
under new sequence numbers (a gateway that lost its outbox and re-sent), so four
deliveries of each reading reach two processes that apply them concurrently on one
PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiomqtt
import httpx
import pytest

from bohsense.cloud.boh import BohCore
from bohsense.contracts.codec import encode
from bohsense.contracts.schema import Reading, ReadingBatch
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import alert_topic, readings_topic
from tests.support.services import Mosquitto

S = 10**9
ROOT = Path(__file__).parents[2]


def catalog(gateway: str, site: str) -> dict[str, object]:
    return {
        "sites": [{"id": site}],
        "gateways": [{"id": gateway, "site": site}],
        "assets": [
            {
                "id": f"compressor-{gateway}",
                "site": site,
                "kind": "compressor",
                "gateway": gateway,
                "device": "vib-01",
                "recipients": ["tech.anna", "lead.bruno"],
                "rules": [
                    {
                        "condition": "vibration-high",
                        "metric": "vib_rms_mm_s",
                        "limit": 7.1,
                        "clear_below": 4.5,
                        "min_duration_s": 5,
                        "severity": "major",
                        "what_to_check": "bearing noise",
                    }
                ],
            }
        ],
    }


def start_worker(tmp: Path, name: str, broker: str, db_url: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp / f"{name}.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOHSENSE_CLOUD_CLIENT_ID": f"{name}-{uuid.uuid4().hex[:8]}",
        "BOHSENSE_CLOUD_GATEWAY_SILENCE_S": "0",
        "BOHSENSE_CLOUD_DEVICE_SILENCE_S": "0",
        "BOHSENSE_CLOUD_ALERT_NOTICES_S": "0.5",
        "BOHSENSE_CLOUD_BATCH_MAX_MS": "5",
    }
    args = [sys.executable, "-m", "bohsense", "cloud", "run", "--broker", broker, "--database", db_url]
    args += ["--tsdb", f"sqlite:///{tmp / name}-ts.db", "--api-port", "0"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=out, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
    return proc, log


def wait_running(proc: subprocess.Popen[bytes], log: Path, limit_s: float = 60) -> int:
    deadline = time.monotonic() + limit_s
    while not (m := re.search(r"api=http://127.0.0.1:(\d+)", log.read_text())):
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    return int(m.group(1))


def health(port: int) -> dict[str, object]:
    return dict(httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10).json())


@pytest.mark.slow
async def test_one_fault_twice_through_two_workers_is_one_alert_and_one_work_order(
    mosquitto: Mosquitto, pg_url: str, tmp_path: Path
) -> None:
    gateway = f"gw-{uuid.uuid4().hex[:8]}"
    site = f"site-{gateway}"
    setup = BohCore(pg_url)  # migrated and loaded once, so that the workers start together
    setup.migrate()
    setup.load_catalog(catalog(gateway, site))
    setup.close()
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        procs += [start_worker(tmp_path, name, mosquitto.url, pg_url) for name in ("worker-a", "worker-b")]
        ports = [wait_running(*p) for p in procs]

        t0 = now_ns() - 120 * S
        fault = [Reading("vib-01", "vib_rms_mm_s", t0 + i * S, 9.0 + 0.1 * (i % 3)) for i in range(20)]
        first = [
            ReadingBatch(
                gateway=gateway, seq=k + 1, sent=now_ns(), readings=fault[5 * k : 5 * k + 5], site=site
            )
            for k in range(4)
        ]
        again = [  # the same readings reported again under new sequence numbers
            ReadingBatch(
                gateway=gateway, seq=k + 5, sent=now_ns(), readings=fault[5 * k : 5 * k + 5], site=site
            )
            for k in range(4)
        ]
        async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier=f"tech-{gateway}") as tech:
            await tech.subscribe(alert_topic(gateway), qos=1)
            async with aiomqtt.Client("127.0.0.1", mosquitto.port) as gw:
                for b in [*first, *first, *again, *again]:  # every batch twice
                    await gw.publish(readings_topic(gateway), encode(b), qos=1)

            # both workers received every copy; wait until both have committed them all
            def drained() -> bool:
                stats = [health(p)["ingest"] for p in ports]
                return all(
                    isinstance(s, dict)
                    and s["batches_applied"] + s["duplicates"] >= 16
                    and s["pending_messages"] == 0
                    for s in stats
                )

            deadline = time.monotonic() + 60
            while not drained():
                assert time.monotonic() < deadline, [health(p) for p in ports]
                await asyncio.sleep(0.2)

            received: list[dict[str, object]] = []

            async def collect() -> None:
                async for message in tech.messages:
                    received.append(json.loads(bytes(message.payload)))  # type: ignore[arg-type]

            task = asyncio.create_task(collect())
            await asyncio.sleep(3.0)  # both workers' notice publishers run every 0.5 s
            task.cancel()

        applied = [health(p)["ingest"] for p in ports]
        core = BohCore(pg_url)
        try:
            alerts = core.list_alerts()
            work_orders = core.list_work_orders()
        finally:
            core.close()
        assert [(a.state, a.condition, a.occurrences) for a in alerts] == [("open", "vibration-high", 1)], (
            alerts
        )
        assert [(w.alert_id, w.state) for w in work_orders] == [(alerts[0].id, "open")]
        assert work_orders[0].checks == ["bearing noise"]
        # 8 distinct batches, each applied by exactly one of the two workers
        assert sum(int(s["batches_applied"]) for s in applied if isinstance(s, dict)) == 8, applied
        opened = [n for n in received if n["event"] == "opened"]
        assert len(opened) == 1, received
        assert (opened[0]["alert_id"], opened[0]["recipients"], opened[0]["work_order_id"]) == (
            alerts[0].id,
            ["tech.anna"],
            work_orders[0].id,
        )
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, log in procs:
            try:
                assert proc.wait(30) == 0, log.read_text()
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
