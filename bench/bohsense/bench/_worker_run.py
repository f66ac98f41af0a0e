"""The real ingest worker, run in a process of its own for the benchmark, one of N.

``python -m bohsense.bench._worker_run BROKER_URL CLIENT_ID INFLUX_URL DB BOH_URL APPLIER PROTOCOL [GROUP]``
builds ``IngestWorker`` (MQTT 5 or 3.1.1, validation, BOH core for dedup, CloudAck; through
``$share/GROUP/`` when GROUP is given) and talks to the bench on its standard streams:

- it prints ``ready`` once everything is built (imports, BOH migrations, store), and waits
  for ``go`` on stdin before it connects, so that N workers start consuming together and
  none is timed with another's start-up;
- while running it prints ``progress STORED PENDING`` whenever those counters change (at
  most every 10 ms), which the bench sums over its workers to know when all is stored and
  acknowledged;
- on ``stop`` it stops and prints one JSON line: its counters, the ``perf_counter`` of its
  first message and of its last stored reading (one clock for every process of the
  machine), and the CPU seconds its process used between the two.

With ``BOHSENSE_BENCH_PROFILE=DIR`` the worker runs under cProfile, every thread of it
(the event loop, paho's network thread, the threads the BOH core runs in), each timed
by its thread's CPU clock, and writes the merged statistics to ``DIR/CLIENT_ID.pstats`` (read with ``python -m pstats``).
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bohsense.cloud.ingest import IngestConfig, IngestWorker
from bohsense.cloud.tsdb import Influx1Store

__all__ = ["PROFILE_ENV", "main", "make_applier"]

#: the directory a profiled worker writes its statistics to
PROFILE_ENV = "BOHSENSE_BENCH_PROFILE"


def make_applier(boh_url: str, kind: str = "auto") -> tuple[Any, str]:
    """The real BOH core (``auto`` when it is installed, ``boh``), else the in-memory applier."""
    from bohsense.bench._memory import MemoryApplier

    if kind == "memory":
        return MemoryApplier(), "in-memory applier"
    try:
        from bohsense.cloud.boh import BohCore
    except ImportError:
        if kind == "boh":
            raise
        return MemoryApplier(), "in-memory applier (BOH core not installed)"
    core = BohCore(boh_url, auto_register=True)  # no catalog: every gateway applies
    core.migrate()
    return core, "BOH core on SQLite" if boh_url.startswith("sqlite") else "BOH core"


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system  # every thread of this process


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _run(
    broker: str,
    client_id: str,
    influx_url: str,
    db: str,
    boh_url: str,
    kind: str,
    protocol: int,
    group: str | None,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    applier, applier_name = make_applier(boh_url, kind)
    store = Influx1Store(influx_url, db, create_database=False)
    cfg = IngestConfig(
        broker_url=broker,
        client_id=client_id,
        mqtt_protocol=protocol,
        receive_maximum=1000,
        shared_group=group,
    )
    worker = IngestWorker(store, applier, cfg)
    go, stop = asyncio.Event(), asyncio.Event()

    def read_commands() -> None:  # a thread: stdin blocks
        for line in sys.stdin:
            word = line.strip()
            if word == "go":
                loop.call_soon_threadsafe(go.set)
            elif word == "stop":
                break
        loop.call_soon_threadsafe(stop.set)  # "stop", or the bench went away

    threading.Thread(target=read_commands, name="bench-commands", daemon=True).start()
    _say("ready")
    await go.wait()
    task = asyncio.create_task(worker.run(stop))
    stats = worker.stats
    first = last = 0.0
    cpu_first = cpu_last = 0.0
    seen, shown, shown_at = 0, (-1, -1), 0.0
    while not stop.is_set():
        if task.done():
            raise RuntimeError(f"worker ended: {task.exception()!r}")
        now = time.perf_counter()
        if not first and stats.messages:
            first, cpu_first = now, _cpu_s()
        if stats.readings_stored != seen:
            seen, last, cpu_last = stats.readings_stored, now, _cpu_s()
        state = (seen, stats.pending_messages)
        if state != shown and now - shown_at >= 0.01:
            _say(f"progress {state[0]} {state[1]}")
            shown, shown_at = state, now
        await asyncio.sleep(0.002)
    await task
    await store.close()
    elapsed = last - first
    return {
        "client_id": client_id,
        "readings": stats.readings_stored,
        "messages": stats.messages,
        "first": first,
        "last": last,
        "seconds": elapsed,
        "readings_per_s": stats.readings_stored / elapsed if elapsed > 0 else 0.0,
        "cpu_s": cpu_last - cpu_first,
        "applier": applier_name,
        "stats": stats.as_dict(),
    }


def _profiled(run: Any, out: Path) -> Any:
    """Run ``run()`` with cProfile on this thread and on every thread started meanwhile,
    each timed by its own thread's CPU clock: the profile shows CPU, not waits."""
    profiles = [cProfile.Profile(time.thread_time)]

    def start_in_thread(*_a: Any) -> None:  # the first event of a new thread: profile it
        p = cProfile.Profile(time.thread_time)
        profiles.append(p)
        p.enable()  # replaces this hook for the thread

    threading.setprofile(start_in_thread)
    profiles[0].enable()
    try:
        return run()
    finally:
        threading.setprofile(None)
        for p in profiles:
            p.disable()
        merged = pstats.Stats(profiles[0])
        for p in profiles[1:]:
            merged.add(p)
        out.parent.mkdir(parents=True, exist_ok=True)
        merged.dump_stats(out)


def main(argv: list[str]) -> int:
    broker, client_id, influx_url, db, boh_url, kind, protocol = argv[:7]
    group = argv[7] if len(argv) > 7 and argv[7] else None

    def run() -> dict[str, Any]:
        return asyncio.run(_run(broker, client_id, influx_url, db, boh_url, kind, int(protocol), group))

    profile_dir = os.environ.get(PROFILE_ENV)
    result = _profiled(run, Path(profile_dir) / f"{client_id}.pstats") if profile_dir else run()
    _say(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
