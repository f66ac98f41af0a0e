"""``bohsense bench api``: the HTTP API's read latency on one uvicorn worker, against a
trivial endpoint of the same process in the same run, and how many live-feed (SSE) clients
that worker holds with events flowing.

Set-up: a BOH core on a temporary SQLite file (or ``--database``), seeded with ``STORES``
stores, each with a gateway, two assets, a stock location, open alerts, work orders and
replenishment proposals; the API (``create_app``) served by ``uvicorn`` in its own process,
one worker (``--stores`` to change the count), with one more route, ``GET /bench/trivial``, that answers ``{"ok": true}``:
what FastAPI, uvicorn and the middleware cost with no work behind them.

Reads: an open-loop schedule (a request is started at its planned time whether or not the
earlier ones came back, so a slow server is not hidden by a waiting client) of ``--rate``
requests/s for ``--seconds``, round robin over the main read endpoints (alerts, work
orders, stock, replenishment, gateways) and the trivial one. Latency is from the planned
start to the end of the answer; p50/p99/max per endpoint, and the reads' p50 and p99 as a
ratio of the trivial endpoint's.

Live feeds: SSE clients of ``/api/v1/feeds/events`` are added in steps (``--sse-start``,
doubling) while this process commits ``--event-rate`` work orders per second into the core;
each step runs ``--sse-step-s`` seconds. The latency of an event is from its ``at_ns`` (the
commit) to its arrival at each client. The ramp stops at the first step whose p99 is over
1 s, or at ``--sse-cap`` clients. Note that the server polls (``feed_poll_s``, 0.2 s): the
writer is another process, so nothing wakes it on commit. The clients run in this process'
event loop and share the machine with the server: on a small machine they may be the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bohsense.bench._latency import percentiles
from bohsense.bench.servers import free_port

__all__ = ["make_app", "run_api"]

#: stores seeded by default
STORES = 5
ENDPOINTS = (
    "/api/v1/alerts",
    "/api/v1/work-orders",
    "/api/v1/stock",
    "/api/v1/replenishment",
    "/api/v1/gateways",
)
TRIVIAL = "/bench/trivial"
#: connections of the read schedule
CONNECTIONS = 32
P99_LIMIT_MS = 1000.0


_STARTED = time.monotonic()


def _say(text: str) -> None:
    print(f"[{time.monotonic() - _STARTED:5.1f} s] {text}", file=sys.stderr, flush=True)


def catalog(stores: int) -> dict[str, Any]:
    sites, gateways, assets, locations = [], [], [], []
    for n in range(1, stores + 1):
        site, gw = f"store-{n}", f"gw-{n}"
        sites.append({"id": site, "name": f"Store {n}"})
        gateways.append({"id": gw, "site": site})
        for a in (1, 2):
            assets.append(
                {
                    "id": f"cooler-{n}-{a}",
                    "site": site,
                    "name": f"Cooler {a}",
                    "kind": "compressor",
                    "gateway": gw,
                    "device": f"vib-{a}",
                    "rules": [
                        {
                            "condition": "vibration-high",
                            "metric": "vib_rms_mm_s",
                            "limit": 7.0,
                            "clear_below": 4.0,
                            "min_duration_s": 30,
                            "severity": "major",
                            "what_to_check": "bearing and mounts",
                        }
                    ],
                }
            )
        locations.append(
            {
                "site": site,
                "sku": "COLA",
                "location": "aisle-1/shelf-1",
                "min": 10,
                "target": 40,
                "safety_stock": 4,
                "lanes": [{"gateway": gw, "device": "shelf-01.lane-1"}],
            }
        )
    return {
        "sites": sites,
        "gateways": gateways,
        "skus": [{"sku": "COLA", "name": "Cola", "unit": "can", "pack_size": 6}],
        "assets": assets,
        "locations": locations,
    }


def seed(database_url: str, stores: int) -> dict[str, int]:
    """Stores with open alerts, work orders and proposals (each store's coolers at fault,
    its shelf nearly empty)."""
    from bohsense.cloud.boh import BohCore
    from bohsense.contracts.schema import GatewayStatus, Reading, ReadingBatch

    core = BohCore(database_url)
    core.migrate()
    core.load_catalog(catalog(stores))
    t0 = time.time_ns() - 3600 * 10**9
    for n in range(1, stores + 1):
        gw = f"gw-{n}"
        core.record_status(GatewayStatus(gateway=gw, state="online", ts=t0, version="bench"))
        readings = [
            Reading(f"vib-{a}", "vib_rms_mm_s", t0 + t * 10**9, 9.0) for a in (1, 2) for t in range(0, 36, 5)
        ]
        readings.append(Reading("shelf-01.lane-1", "units", t0 + 40 * 10**9, 2.0))
        core.apply_batches([ReadingBatch(gateway=gw, seq=1, sent=t0, readings=readings, site=f"store-{n}")])
    counts = {
        "alerts": len(core.list_alerts()),
        "work_orders": len(core.list_work_orders()),
        "proposals": len(core.list_proposals()),
    }
    core.close()
    return counts


def make_app() -> Any:
    """The served app (``uvicorn --factory``): the API over ``BOHSENSE_BENCH_DATABASE_URL``
    and the trivial route."""
    from fastapi import FastAPI

    from bohsense.cloud.api import create_app
    from bohsense.cloud.boh import BohCore
    from bohsense.cloud.tsdb import SqliteStore

    core = BohCore(os.environ["BOHSENSE_BENCH_DATABASE_URL"])
    tsdb = SqliteStore(Path(os.environ["BOHSENSE_BENCH_TSDB"]))  # opened lazily; no endpoint timed reads it
    app: FastAPI = create_app(core=core, tsdb=tsdb)

    @app.get(TRIVIAL, include_in_schema=False)
    async def trivial() -> dict[str, bool]:
        return {"ok": True}

    return app


async def _reads(base: str, rate: float, seconds: float) -> dict[str, Any]:
    targets = (*ENDPOINTS, TRIVIAL)
    total = max(len(targets), int(rate * seconds))
    latencies: dict[str, list[float]] = {t: [] for t in targets}
    errors: dict[str, int] = {t: 0 for t in targets}
    # one client of one connection per worker: a shared pool's bookkeeping grows with the
    # requests queued on it, and on a small machine made the load generator the limit
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=base, limits=one, timeout=30))
            for _ in range(CONNECTIONS)
        ]
        for k, http in enumerate(clients):  # warm: connections, caches, first imports
            await http.get(targets[k % len(targets)])
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05

        next_i = 0

        async def worker(http: httpx.AsyncClient) -> None:
            # each worker owns one connection and takes the next planned request: a request
            # starts late when every worker is busy, and its lateness counts (open loop)
            nonlocal next_i
            while next_i < total:
                i, next_i = next_i, next_i + 1
                target = targets[i % len(targets)]
                planned = start + i / rate
                await asyncio.sleep(max(0.0, planned - loop.time()))
                try:
                    r = await http.get(target)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies[target].append((loop.time() - planned) * 1000.0)
                else:
                    errors[target] += 1

        await asyncio.gather(*(worker(c) for c in clients))
        took = loop.time() - start
    reads = [x for t in ENDPOINTS for x in latencies[t]]
    out: dict[str, Any] = {
        "requests": total,
        "achieved_rate": round(total / took, 1),
        "errors": sum(errors.values()),
        "endpoints": {t: percentiles(latencies[t], 2) for t in ENDPOINTS},
        "reads": percentiles(reads, 2),
        "trivial": percentiles(latencies[TRIVIAL], 2),
    }
    trivial = out["trivial"]
    if reads and trivial["n"]:
        out["ratio_p50"] = round(out["reads"]["p50_ms"] / trivial["p50_ms"], 2)
        out["ratio_p99"] = round(out["reads"]["p99_ms"] / trivial["p99_ms"], 2)
    return out


class _Writer:
    """Commits a work order every ``1 / rate`` s into the served database."""

    def __init__(self, database_url: str, rate: float, stores: int) -> None:
        from bohsense.cloud.boh import BohCore

        self.core = BohCore(database_url)
        self.rate = rate
        self.stores = stores
        self.made = 0

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not stop.is_set():
            n = self.made % self.stores + 1
            await asyncio.to_thread(self.core.create_work_order, f"cooler-{n}-1", "bench", actor="bench")
            self.made += 1
            next_at += 1.0 / self.rate
            await asyncio.sleep(max(0.0, next_at - loop.time()))


async def _sse_client(base: str, http: httpx.AsyncClient, lat: list[float], ready: asyncio.Event) -> None:
    async with http.stream("GET", f"{base}/api/v1/feeds/events", params={"topics": "work_orders"}) as r:
        ready.set()
        data = None
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                data = line[6:]
            elif line == "" and data is not None:
                at_ns = json.loads(data)["at_ns"]
                lat.append((time.time_ns() - at_ns) / 1e6)
                data = None


async def _feeds(
    base: str, database_url: str, stores: int, start: int, cap: int, step_s: float, event_rate: float
) -> dict[str, Any]:
    writer = _Writer(database_url, event_rate, stores)
    stop = asyncio.Event()
    steps: list[dict[str, Any]] = []
    clients: list[asyncio.Task[None]] = []
    current: list[float] = []
    limits = httpx.Limits(max_connections=cap + 10, max_keepalive_connections=cap + 10)
    held = 0
    stopped_by = "cap"
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30, read=None)) as http:
        writing = asyncio.create_task(writer.run(stop))
        try:
            n = start
            while True:
                target = min(n, cap)
                while len(clients) < target:
                    ready = asyncio.Event()
                    clients.append(asyncio.create_task(_sse_client(base, http, current, ready)))
                    async with asyncio.timeout(30):
                        await ready.wait()
                current.clear()
                await asyncio.sleep(step_s)
                failed = sum(1 for c in clients if c.done())
                stats = percentiles(list(current), 2)
                step = {"clients": len(clients), "failed": failed, "events_received": stats.pop("n"), **stats}
                steps.append(step)
                _say(f"  sse: {len(clients)} clients: {step}")
                if failed or not step["events_received"] or step.get("p99_ms", 0) > P99_LIMIT_MS:
                    stopped_by = "clients failed" if failed else "p99 over 1 s"
                    break
                held = len(clients)
                if target >= cap:
                    break
                n *= 2
        finally:
            stop.set()
            for c in clients:
                c.cancel()
            await asyncio.gather(*clients, writing, return_exceptions=True)
            writer.core.close()
    return {
        "event_rate_per_s": event_rate,
        "step_s": step_s,
        "cap": cap,
        "clients_held": held,
        "stopped_by": stopped_by,
        "steps": steps,
    }


def run_api(
    *,
    seconds: float,
    rate: float,
    database: str | None,
    stores: int = STORES,
    sse_start: int,
    sse_cap: int,
    sse_step_s: float,
    event_rate: float,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        database_url = database or f"sqlite:///{Path(tmp) / 'boh.db'}"
        logging.getLogger("httpx").setLevel(logging.WARNING)
        port = free_port()
        env = {
            **os.environ,
            "BOHSENSE_BENCH_DATABASE_URL": database_url,
            "BOHSENSE_BENCH_TSDB": f"{tmp}/ts.db",
        }
        log = (Path(tmp) / "uvicorn.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "bohsense.bench._api:make_app", "--host",
             "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning",
             "--no-access-log", "--lifespan", "off"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            # seeded while the server starts (it opens nothing before the first request)
            seeded = seed(database_url, stores)
            _say(f"seeded {stores} stores: {seeded}")
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}{TRIVIAL}", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not start:\n{(Path(tmp) / 'uvicorn.log').read_text()}")
                time.sleep(0.05)
            _say(f"reads: {rate:g} requests/s for {seconds:g} s, open loop, on one uvicorn worker")
            reads = asyncio.run(_reads(base, rate, seconds))
            _say(
                f"  reads p50 {reads['reads'].get('p50_ms')} ms p99 {reads['reads'].get('p99_ms')} ms; "
                f"trivial p50 {reads['trivial'].get('p50_ms')} ms p99 {reads['trivial'].get('p99_ms')} ms"
            )
            _say(f"live feeds: SSE clients from {sse_start}, doubling, up to {sse_cap}")
            feeds = asyncio.run(
                _feeds(base, database_url, stores, sse_start, sse_cap, sse_step_s, event_rate)
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()
    return {
        "database": "PostgreSQL" if database_url.startswith("postgres") else "SQLite",
        "stores": stores,
        "seeded": seeded,
        "seconds": seconds,
        "rate_per_s": rate,
        "cpus": os.cpu_count(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        **reads,
        "sse": feeds,
    }
