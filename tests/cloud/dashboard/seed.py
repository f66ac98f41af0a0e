"""Two stores with something to show in every view, at event times of the last hours.

Store A (``store-a``) has a compressor whose vibration rose over its limit and fell back
(an alert and its work order; the condition has cleared, so the work order may close), a
shelf whose lane emptied (an out-of-stock period, hence the heat map, and a replenishment
proposal), and a lane in fault (untrusted stock). Store B (``store-b``) has its own alert,
shelf and proposal, so that scoping shows: a person of store A must never see them.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bohsense.cloud.boh import BohCore
from bohsense.cloud.tsdb import SqliteStore
from bohsense.contracts.events import Event, LaneChange, LaneState
from bohsense.contracts.schema import GatewayStatus, Reading, ReadingBatch
from tests.cloud.ingest._events import wire

S = 10**9
H = 3600 * S
SITES = ("store-a", "store-b")
LIMIT, CLEAR, DURATION_S = 7.0, 4.0, 30


def gateway(site: str) -> str:
    return f"gw-{site}"


def catalog() -> dict[str, Any]:
    c: dict[str, Any] = {"sites": [], "gateways": [], "assets": [], "locations": []}
    c["skus"] = [
        {"sku": "COLA", "name": "Cola", "unit": "can", "pack_size": 6},
        {"sku": "TEA", "name": "Green tea", "unit": "bottle", "pack_size": 12},
    ]
    for n, site in enumerate(SITES):
        gw = gateway(site)
        c["sites"].append({"id": site, "name": f"Store {'AB'[n]}"})
        c["gateways"].append({"id": gw, "site": site})
        c["assets"].append(
            {
                "id": f"cooler-{site}",
                "site": site,
                "name": "Cooler compressor",
                "kind": "compressor",
                "gateway": gw,
                "device": "vib-01",
                "rules": [
                    {
                        "condition": "vibration-high",
                        "metric": "vib_rms_mm_s",
                        "limit": LIMIT,
                        "clear_below": CLEAR,
                        "min_duration_s": DURATION_S,
                        "severity": "major",
                        "what_to_check": "bearing and mounts",
                    }
                ],
            }
        )
        c["locations"] += [
            {
                "site": site,
                "sku": "COLA",
                "location": "aisle-1/shelf-1",
                "aisle": "aisle-1",
                "shelf": "shelf-1",
                "min": 10,
                "target": 40,
                "safety_stock": 4,
                "lanes": [{"gateway": gw, "device": "shelf-01.lane-1"}],
            },
            {
                "site": site,
                "sku": "TEA",
                "location": "aisle-2/shelf-1",
                "aisle": "aisle-2",
                "shelf": "shelf-1",
                "min": 12,
                "target": 48,
                "safety_stock": 6,
                "lanes": [{"gateway": gw, "device": "shelf-02.lane-1"}],
            },
        ]
    return c


def _batch(site: str, seq: int, sent: int, readings: list[Reading], events: list[Event]) -> ReadingBatch:
    return ReadingBatch(
        gateway=gateway(site),
        seq=seq,
        sent=sent,
        readings=readings,
        site=site,
        events=[wire(e) for e in events],
    )


def seed(database_url: str, tsdb_path: Path, now_ns: int | None = None) -> dict[str, Any]:
    """Migrate, load the catalog and apply the stores' history (the readings into the
    time-series file too); what was made, by site."""
    now = time.time_ns() if now_ns is None else now_ns
    t0 = now - 3 * H
    core = BohCore(database_url)
    tsdb = SqliteStore(tsdb_path)
    try:
        core.migrate()
        core.load_catalog(catalog())
        for k, site in enumerate(SITES):
            gw = gateway(site)
            core.record_status(GatewayStatus(gateway=gw, state="online", ts=now - 60 * S, version="0.1"))
            over = [
                Reading("vib-01", "vib_rms_mm_s", t0 + t * S, LIMIT + 2) for t in range(0, DURATION_S + 1, 5)
            ]
            calm = [
                Reading("vib-01", "vib_rms_mm_s", t0 + (DURATION_S + t) * S, CLEAR - 2)
                for t in range(5, 3600, 60)
            ]
            temps = [
                Reading("vib-01", "temp_c", t0 + t * S, 30.0 + (t % 600) / 100) for t in range(0, 3600, 60)
            ]
            readings = [_batch(site, 1, t0, over, []), _batch(site, 2, t0, calm + temps, [])]
            core.apply_batches(readings[:1])
            core.apply_batches(readings[1:])
            # in a thread of its own: the caller may be inside an event loop (Playwright's)
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, _store(tsdb, readings)).result()
            shelf = "shelf-01"
            lane_a, lane_b = "shelf-01.lane-1", "shelf-02.lane-1"
            events = [
                Event(shelf, "shelf.lane_state", t0, LaneState(lane_a, "stable", 20, "", None, 1.0)),  # type: ignore[arg-type]
                Event(shelf, "shelf.lane_state", t0, LaneState(lane_b, "stable", 30, "", None, 1.0)),  # type: ignore[arg-type]
                Event(shelf, "shelf.pick", t0 + H, LaneChange(lane_a, 20, 0.98, -355.0 * 20, 0)),
            ]
            core.apply_batches([_batch(site, 3, t0 + H, [], events)])
            if k == 0:
                # store A's tea lane goes into fault: its count is not to be trusted
                fault = Event(
                    shelf,
                    "shelf.lane_state",
                    now - 600 * S,
                    LaneState(lane_b, "fault", None, "load_cell_dead", None, 1.0),
                )  # type: ignore[arg-type]
                core.apply_batches([_batch(site, 4, now - 600 * S, [], [fault])])
        made = {
            site: {
                "alerts": [a.id for a in core.list_alerts(site=site)],
                "work_orders": [w.id for w in core.list_work_orders(site=site)],
                "proposals": [p.id for p in core.list_proposals(site=site)],
            }
            for site in SITES
        }
    finally:
        core.close()
    return made


async def _store(tsdb: SqliteStore, batches: list[ReadingBatch]) -> None:
    await tsdb.setup()
    await tsdb.write(batches)
