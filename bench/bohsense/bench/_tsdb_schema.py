"""``bohsense bench tsdb-schema``: write speed of the time-series schema against the first
one, in the same run, on a real InfluxDB 1.x started for it.

The workload is a fleet of stores as the gateways report them: per store 40 shelf lanes
(``weight_g`` at 2 Hz, ``units`` when it changes), 10 condition sensors (one block of 14
vibration features, ``temp_c`` and a sensor-fault flag per second) and 4 RFID readers
(three health metrics every 10 s), in batches of 100 readings in event-time order.

Each round writes the same readings twice, each into a fresh database: once as the first
schema's lines (``reading,device=…,gateway=…,metric=… value=…``, one line per reading,
from its f-string formatter) and once through ``Influx1Store.write`` (the current schema:
a measurement per device kind, a field per metric), one writer, 5,000 lines per POST, as
the cloud worker does. The two alternate slice by slice (5,000 readings each, the order
swapped every slice), so a busy shared machine slows both alike. Figures: readings/s end
to end (formatting included), lines, bytes, series per database (``SHOW SERIES EXACT
CARDINALITY``), the formatter alone, and the time of two dashboard queries (one store's
mean weight per lane, its vibration features per sensor) on each schema.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

from bohsense.bench.servers import InfluxServer
from bohsense.cloud.tsdb import Influx1Store, SiteCache
from bohsense.cloud.tsdb._lineproto import chunked_lines, legacy_lines
from bohsense.contracts.schema import Reading, ReadingBatch

__all__ = ["make_fleet", "run_tsdb_schema"]

_VIB = (
    "velocity_rms_mm_s",
    "iso_zone",
    "acc_rms_g",
    "acc_peak_g",
    "crest_factor",
    "kurtosis",
    "band_10_100hz_g",
    "band_100_1000hz_g",
    "band_1000_5000hz_g",
    "shaft_hz",
    "1x_mm_s",
    "2x_mm_s",
    "env_bpfo_db",
    "env_bpfi_db",
)
S = 1_000_000_000


def make_fleet(stores: int, seconds: int, *, seed: int = 7) -> list[ReadingBatch]:
    """Readings of ``stores`` stores (gateway ``bench-gw-NNN`` at site ``site-NNN``) over
    the ``seconds`` s that end a minute ago, as batches of at most 100 readings."""
    rnd = random.Random(seed)
    sent = time.time_ns()
    t0 = (sent // S - seconds - 60) * S
    out: list[ReadingBatch] = []
    for g in range(stores):
        gw = f"bench-gw-{g:03d}"
        units = [rnd.randint(5, 20) for _ in range(40)]
        readings: list[Reading] = []
        for sec in range(seconds):
            t = t0 + sec * S
            for half in (0, S // 2):
                for lane in range(40):
                    name = f"shelf-{lane // 4 + 1}.lane-{lane % 4 + 1}"
                    readings.append(
                        Reading(name, "weight_g", t + half + lane, units[lane] * 250.0 + rnd.random())
                    )
            for lane in range(40):
                if rnd.random() < 0.02:
                    units[lane] = max(0, units[lane] - 1)
                    readings.append(
                        Reading(
                            f"shelf-{lane // 4 + 1}.lane-{lane % 4 + 1}",
                            "units",
                            t + lane,
                            float(units[lane]),
                        )
                    )
            for v in range(10):
                dev, ts = f"vib-{v + 1}", t + 1000 + v
                readings.extend(Reading(dev, f"vib_x_{f}", ts, rnd.random() * 5) for f in _VIB)
                readings.append(Reading(dev, "temp_c", ts, 40 + rnd.random()))
                readings.append(Reading(dev, "vib_x_sensor_fault", ts, 0.0))
            if sec % 10 == 0:
                for r in range(4):
                    dev = f"reader-{r + 1}"
                    readings.append(Reading(dev, "connected", t + 2000 + r, 1.0))
                    readings.append(Reading(dev, "reads_per_s", t + 2000 + r, 400 + rnd.random() * 50))
                    readings.append(Reading(dev, "last_report_age_s", t + 2000 + r, rnd.random()))
        for seq, i in enumerate(range(0, len(readings), 100), start=1):
            out.append(
                ReadingBatch(
                    gateway=gw, seq=seq, sent=sent, readings=readings[i : i + 100], site=f"site-{g:03d}"
                )
            )
    # interleave the gateways as a broker would deliver them
    out.sort(key=lambda b: (b.seq, b.gateway))
    return out


def _legacy_bodies(batches: list[ReadingBatch], size: int) -> list[str]:
    lines = list(legacy_lines(batches))
    return ["\n".join(lines[i : i + size]) for i in range(0, len(lines), size)]


async def _round(url: str, batches: list[ReadingBatch], n: int, sites: dict[str, str]) -> dict[str, Any]:
    """Both schemas, slice by slice (50 batches = 5,000 readings, one worker call), the
    order alternating per slice, so both see the same load on a shared machine."""
    legacy = Influx1Store(url, f"bench_legacy_{n}")
    current = Influx1Store(url, f"bench_current_{n}")
    current.sites = SiteCache(lambda: sites)
    for store in (legacy, current):
        await store.setup()
    spent = {"legacy": 0.0, "current": 0.0}

    async def write_legacy(part: list[ReadingBatch]) -> None:
        t = time.perf_counter()
        for body in _legacy_bodies(part, legacy.chunk_points):
            await legacy.write_lines(body)
        spent["legacy"] += time.perf_counter() - t

    async def write_current(part: list[ReadingBatch]) -> None:
        t = time.perf_counter()
        await current.write(part)
        spent["current"] += time.perf_counter() - t

    for k, i in enumerate(range(0, len(batches), 50)):
        part = batches[i : i + 50]
        first, second = (write_legacy, write_current) if (k + n) % 2 == 0 else (write_current, write_legacy)
        await first(part)
        await second(part)
    res: dict[str, Any] = {}
    # what a dashboard asks: one store's mean weight per lane, and its condition features
    asks = {
        "legacy": [
            "SELECT mean(value) FROM reading WHERE gateway = 'bench-gw-000' AND metric = 'weight_g'"
            " GROUP BY device",
            "SELECT mean(value) FROM reading WHERE gateway = 'bench-gw-000' AND metric =~ /^vib_x_/"
            " GROUP BY device, metric",
        ],
        "current": [
            "SELECT mean(weight_g) FROM shelf WHERE site = 'site-000' GROUP BY device, lane",
            "SELECT mean(/^vib_x_/) FROM condition WHERE site = 'site-000' GROUP BY device",
        ],
    }
    queried: dict[str, list[float]] = {}
    for schema, store in (("legacy", legacy), ("current", current)):
        queried[schema] = []
        for q in asks[schema]:
            assert await store.influxql(q), q  # warm, and not empty
            t = time.perf_counter()
            for _ in range(5):
                await store.influxql(q)
            queried[schema].append((time.perf_counter() - t) / 5)
    bodies = {
        "legacy": _legacy_bodies(batches, legacy.chunk_points),
        "current": [b for b, _ in chunked_lines(batches, current.chunk_points, current.sites)],
    }
    for schema, store in (("legacy", legacy), ("current", current)):
        res[schema] = {
            "seconds": spent[schema],
            "lines": sum(b.count("\n") + 1 for b in bodies[schema]),
            "bytes": sum(len(b) for b in bodies[schema]),
            "series": await _cardinality(store),
            "query_s": queried[schema],
        }
        await store.influxql(f'DROP DATABASE "bench_{schema}_{n}"', write=True)
        await store.close()
    return res


async def _cardinality(store: Influx1Store) -> int:
    series = await store.influxql("SHOW SERIES EXACT CARDINALITY")
    return sum(int(s["values"][0][0]) for s in series)


def _format_only(batches: list[ReadingBatch], sites: dict[str, str]) -> dict[str, float]:
    readings = sum(len(b.readings) for b in batches)
    t = time.perf_counter()
    _legacy_bodies(batches, 5000)
    legacy = time.perf_counter() - t
    t = time.perf_counter()
    chunked_lines(batches, 5000, sites.get)
    current = time.perf_counter() - t
    return {"legacy_readings_per_s": readings / legacy, "current_readings_per_s": readings / current}


def run_tsdb_schema(stores: int, seconds: int, rounds: int) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    batches = make_fleet(stores, seconds)
    readings = sum(len(b.readings) for b in batches)
    sites = {b.gateway: b.site for b in batches}
    print(
        f"tsdb-schema: {readings} readings from {stores} stores over {seconds} s, {rounds} rounds",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="bench-tsdb-") as tmp:
        influx = InfluxServer(Path(tmp) / "influx").start()
        try:
            results = []
            for n in range(rounds):
                r = asyncio.run(_round(influx.url, batches, n, sites))
                print(
                    f"  round {n + 1}: legacy {readings / r['legacy']['seconds']:,.0f}/s,"
                    f" current {readings / r['current']['seconds']:,.0f}/s",
                    file=sys.stderr,
                )
                results.append(r)
        finally:
            influx.stop()
    legacy = median(readings / r["legacy"]["seconds"] for r in results)
    current = median(readings / r["current"]["seconds"] for r in results)
    last = results[-1]
    return {
        "readings": readings,
        "stores": stores,
        "seconds_simulated": seconds,
        "rounds": rounds,
        "legacy_readings_per_s": round(legacy),
        "current_readings_per_s": round(current),
        "ratio_current_vs_legacy": round(current / legacy, 3),
        "ratios_per_round": [round(r["legacy"]["seconds"] / r["current"]["seconds"], 3) for r in results],
        "lines": {"legacy": last["legacy"]["lines"], "current": last["current"]["lines"]},
        "bytes": {"legacy": last["legacy"]["bytes"], "current": last["current"]["bytes"]},
        "series": {"legacy": last["legacy"]["series"], "current": last["current"]["series"]},
        "dashboard_query_ms": {
            what: {
                schema: round(median(r[schema]["query_s"][i] for r in results) * 1000, 1)
                for schema in ("legacy", "current")
            }
            for i, what in enumerate(("lane_means", "vibration_features"))
        },
        "format_only": {k: round(v) for k, v in _format_only(batches, sites).items()},
    }
