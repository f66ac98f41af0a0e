"""The real ingest worker, run alone in a process for the benchmark.

``python -m bohsense.bench._worker_run BROKER_URL CLIENT_ID INFLUX_URL DB READINGS WORKDIR APPLIER PROTOCOL``
runs ``IngestWorker`` (MQTT 5 or 3.1.1, validation, BOH core for dedup, CloudAck) until READINGS
readings are stored and every message acknowledged; prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from bohsense.cloud.ingest import IngestConfig, IngestWorker
from bohsense.cloud.tsdb import Influx1Store

__all__ = ["main", "make_applier"]


def make_applier(workdir: str, kind: str = "auto") -> tuple[Any, str]:
    """The real BOH core on SQLite (``auto`` when it is installed, ``boh``), else the in-memory applier."""
    from bohsense.bench._memory import MemoryApplier

    if kind == "memory":
        return MemoryApplier(), "in-memory applier"
    try:
        from bohsense.cloud.boh import BohCore
    except ImportError:
        if kind == "boh":
            raise
        return MemoryApplier(), "in-memory applier (BOH core not installed)"
    core = BohCore(f"sqlite:///{workdir}/boh.db", auto_register=True)  # no catalog: every gateway applies
    core.migrate()
    return core, "BOH core on SQLite"


async def _run(
    broker: str, client_id: str, influx_url: str, db: str, total: int, workdir: str, kind: str, protocol: int
) -> dict[str, Any]:
    applier, applier_name = make_applier(workdir, kind)
    store = Influx1Store(influx_url, db, create_database=False)
    cfg = IngestConfig(broker_url=broker, client_id=client_id, mqtt_protocol=protocol, receive_maximum=1000)
    worker = IngestWorker(store, applier, cfg)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    stats = worker.stats
    while stats.messages == 0:  # noqa: ASYNC110 - timing: poll the counter, no event exists
        await asyncio.sleep(0.001)
    first = time.perf_counter()
    while stats.readings_stored < total or stats.pending_messages:
        if task.done():
            raise RuntimeError(f"worker ended: {task.exception()!r}")
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - first
    stop.set()
    await task
    await store.close()
    return {
        "readings": stats.readings_stored,
        "messages": stats.messages,
        "seconds": elapsed,
        "readings_per_s": stats.readings_stored / elapsed,
        "applier": applier_name,
        "stats": stats.as_dict(),
    }


def main(argv: list[str]) -> int:
    broker, client_id, influx_url, db, total, workdir, kind, protocol = argv[:8]
    print(
        json.dumps(
            asyncio.run(_run(broker, client_id, influx_url, db, int(total), workdir, kind, int(protocol)))
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
