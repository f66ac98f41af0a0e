"""A worker killed (SIGKILL) after receiving but before committing: the broker redelivers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bohsense.cloud.tsdb import open_store
from bohsense.contracts.timeutil import now_ns
from tests.cloud.ingest._harness import as_messages, config, influx_count, publish, running, until
from tests.cloud.ingest._memory import MemoryApplier
from tests.cloud.tsdb._data import make_batch, unique
from tests.support.services import InfluxDB, Mosquitto, free_port

# The doomed worker writes to an InfluxDB port where nothing listens, so it receives and
# decodes but can never commit: it holds every message unacknowledged until it is killed.
DOOMED = """
import asyncio, logging, sys
from bohsense.cloud.ingest import IngestConfig, IngestWorker
from bohsense.cloud.tsdb import open_store
from tests.cloud.ingest._memory import MemoryApplier

logging.basicConfig(level=logging.INFO, stream=sys.stderr)

async def main() -> None:
    cfg = IngestConfig(broker_url=sys.argv[1], client_id=sys.argv[2], mqtt_protocol=int(sys.argv[3]),
                       batch_max_ms=20, retry_initial_s=0.05, retry_max_s=0.2)
    worker = IngestWorker(open_store(sys.argv[4]), MemoryApplier(), cfg)
    await worker.run()

asyncio.run(main())
"""


def spawn(log: Path, *args: str) -> subprocess.Popen[bytes]:
    root = Path(__file__).parents[3]
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", DOOMED, *args],
            stdout=out,
            stderr=out,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )


@pytest.mark.parametrize("protocol", [4, 5])
async def test_killed_before_commit_is_redelivered(
    own_mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path, protocol: int
) -> None:
    client_id, gw = unique("ingest"), unique("gw")
    db = influxdb.create_database(unique("kill"))
    batches = [make_batch(gw, seq, 25, t0=now_ns() - 10**11 + seq * 10**9) for seq in range(1, 11)]
    log = tmp_path / "doomed.log"
    dead_influx = f"influx1://127.0.0.1:{free_port()}/x"
    proc = spawn(log, own_mosquitto.url, client_id, str(protocol), dead_influx)
    try:
        # first connection registers the persistent session and its subscription
        deadline = time.monotonic() + 20
        while "subscribed" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.05)
        await publish(own_mosquitto, as_messages(batches), protocol)
        deadline = time.monotonic() + 20
        while "holding messages" not in log.read_text():  # received, decoded, store write failed
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    store = open_store(f"influx1://127.0.0.1:{influxdb.port}/{db}")
    applier = MemoryApplier()
    async with running(store, applier, config(own_mosquitto, client_id, mqtt_protocol=protocol)) as worker:
        await until(lambda: applier.seqs(gw) == set(range(1, 11)), what="redelivery of all 10 batches")
        assert worker.stats.messages == 10
    assert influx_count(influxdb, db, gw) == 250
    await store.close()
