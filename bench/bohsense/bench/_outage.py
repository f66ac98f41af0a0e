"""``bohsense bench outage``: a store at load loses its WAN, then gets it back.

The store is ``bench store``'s, with a TCP proxy the bench controls between the gateway and
Mosquitto (the store's WAN). Phases:

1. live (``--live`` s): the store runs connected; the live rate is the gateway's
   acknowledged batches per second (its ``acked_total``), and its readings per second;
2. outage (``--outage`` s): the proxy drops every connection and refuses new ones; the
   store keeps running (shoppers pick), the backlog builds in the gateway's outbox;
3. restore: the proxy forwards again. The drain rate is the batches acknowledged per
   second from the restore until the outbox depth is back at its live level (the time to
   catch up); its ratio to the live rate is the figure. Picks are timed to the API
   during the drain as in ``bench latency`` (live data while draining).

Then the devices stop and every reading and event the gateway accepted is counted in the
cloud: readings lost = the gateway's ``readings_in_total`` − the points InfluxDB holds for
the gateway; events lost / applied twice = the gateway's ``events_in_total`` against the
BOH core's ``device_events`` rows of the gateway and their distinct (seq, idx).

An accelerated hour: a real hour's backlog at this store's rate is 3600 / ``--outage``
times larger; the bench states the backlog it built (batches, readings) so
the drain figures can be scaled. Urgent first: at the cut, the last vibration sensor's
simulated time jumps into its scenario's stuck-sensor fault, so the gateway raises local
alarms (``device.alarm``, urgent) during the outage; after the drain the BOH core's rows say
whether every urgent event of the outage reached the cloud before every other one (the cloud
stamps one ``received_ns`` per commit, so "in the first commit" is the finest order seen).
The alarms come with the sensor's next block, up to 10 s after the cut: an outage shorter
than that may have none.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bohsense.bench._latency import percentiles, time_pick
from bohsense.bench._store import Sample, StoreRig, loadavg, say, shoppers

__all__ = ["run_outage"]


def _rate(a: Sample, b: Sample, key: str) -> float:
    return (b.metrics.get(key, 0.0) - a.metrics.get(key, 0.0)) / max(1e-9, b.t_s - a.t_s)


def _count_points(rig: StoreRig) -> int:
    from bohsense.cloud.tsdb._lineproto import MEASUREMENTS

    names = ", ".join(f'"{m}"' for m in MEASUREMENTS)
    out = rig.influx.query(f"""SELECT count(*) FROM {names} WHERE "gateway" = '{rig.gateway}'""", rig.db)
    # a count_<metric> column per field, a series per measurement
    return sum(
        int(v) for s in out["results"][0].get("series") or [] for v in s["values"][0][1:] if v is not None
    )


def _boh_events(rig: StoreRig) -> tuple[int, int]:
    con = sqlite3.connect(f"file:{rig.workdir / 'boh.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        total, distinct = con.execute(
            "SELECT count(*), count(DISTINCT seq || ':' || idx) FROM device_events WHERE gateway = ?",
            (rig.gateway,),
        ).fetchone()
    finally:
        con.close()
    return int(total), int(distinct)


def _loss_counters(metrics: dict[str, float]) -> dict[str, int]:
    """The gateway's drop and loss counters, the drivers' summed over devices."""
    out: dict[str, int] = {}
    for key, value in metrics.items():
        if any(w in key for w in ("dropped", "lost", "overflow")):
            name = key.split("{", 1)[0]
            out[name] = out.get(name, 0) + int(value)
    return out


def _urgent_first(rig: StoreRig, cut_ns: int, restore_ns: int) -> dict[str, Any]:
    """The urgent events raised during the outage against the backlog's other events: did
    every urgent one reach the cloud before every non-urgent one of the outage?"""
    con = sqlite3.connect(f"file:{rig.workdir / 'boh.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute(
            "SELECT kind, received_ns FROM device_events WHERE gateway = ? AND ts_ns >= ? AND ts_ns < ?",
            (rig.gateway, cut_ns, restore_ns),
        ).fetchall()
        alarm_ts = [
            r[0]
            for r in con.execute(
                "SELECT ts_ns FROM device_events WHERE kind = 'device.alarm' AND gateway = ?", (rig.gateway,)
            )
        ]
    finally:
        con.close()
    urgent = [r for k, r in rows if k == "device.alarm"]
    other = [r for k, r in rows if k != "device.alarm"]
    out: dict[str, Any] = {
        "urgent_events": len(urgent),
        "backlog_events": len(other),
        "alarms_at_s_after_cut": sorted(round((t - cut_ns) / 1e9, 1) for t in alarm_ts),
    }
    if urgent and other:
        # the cloud stamps one received_ns per commit: equal means in the same commit
        out["urgent_strictly_first"] = max(urgent) < min(other)
        out["urgent_in_first_commit"] = max(urgent) <= min(other)
        out["urgent_lead_ms"] = round((min(other) - max(urgent)) / 1e6, 1)
    return out


def run_outage(outage_s: float, live_s: float = 30.0, workdir: Path | None = None) -> dict[str, Any]:
    tmp = tempfile.TemporaryDirectory(prefix="bohsense-bench-outage-") if workdir is None else None
    wd = Path(tmp.name) if tmp is not None else workdir
    assert wd is not None
    rig = StoreRig(wd, "outage", wan_proxy=True)
    load_before = loadavg()
    try:
        rig.start()
        assert rig.proxy is not None
        rng = random.Random(13)
        t0 = time.monotonic()
        samples: list[Sample] = []

        def tick(until: float, every: float = 1.0) -> None:
            next_pick = time.monotonic()
            while time.monotonic() - t0 < until:
                samples.append(rig.sample(t0))
                if time.monotonic() >= next_pick:
                    shoppers(rig, rng, 2.0)
                    next_pick = time.monotonic() + rng.expovariate(0.5)
                time.sleep(every)

        say("outage", f"live for {live_s:g} s")
        tick(live_s)
        live = [s for s in samples if s.t_s >= 2.0]
        live_batches_per_s = _rate(live[0], live[-1], "acked_total")
        live_readings_per_s = _rate(live[0], live[-1], "readings_in_total")
        live_depth = max(s.outbox_depth for s in live)
        say(
            "outage",
            f"live: {live_batches_per_s:.2f} batches/s, {live_readings_per_s:.0f} readings/s; WAN cut for {outage_s:g} s",
        )
        rig.proxy.cut()
        cut_ns = time.time_ns()
        cut_at = samples[-1]
        rig.sensor_fault_now()  # an urgent local alarm during the outage
        next_say = cut_at.t_s + 10
        while time.monotonic() - t0 < live_s + outage_s:
            tick(min(time.monotonic() - t0 + 1.0, live_s + outage_s))
            if samples[-1].t_s >= next_say:
                say(
                    "outage",
                    f"outage {samples[-1].t_s - cut_at.t_s:4.0f} s: outbox depth {samples[-1].outbox_depth}",
                )
                next_say += 10
        before = rig.sample(t0)
        backlog = before.outbox_depth
        backlog_readings = int(
            before.metrics.get("readings_in_total", 0) - cut_at.metrics.get("readings_in_total", 0)
        )
        restore_ns = time.time_ns()
        rig.proxy.restore()
        say("outage", f"WAN restored with {backlog} batches ({backlog_readings} readings) in the outbox")
        restored = rig.sample(t0)
        # live data while draining: picks timed to the API from the restore on
        timed: list[dict[str, Any]] = []
        picking = threading.Event()

        def picker() -> None:
            prng = random.Random(17)
            while not picking.is_set():
                r = time_pick(rig, prng)
                if r is not None:
                    r["done_s"] = time.monotonic() - t0
                    timed.append(r)

        th = threading.Thread(target=picker, daemon=True)
        th.start()
        drain: list[Sample] = [restored]
        threshold = max(live_depth, 2)
        limit = time.monotonic() + max(120.0, 10 * outage_s)
        while True:
            time.sleep(0.25)
            drain.append(rig.sample(t0))
            if drain[-1].outbox_depth <= threshold and len(drain) > 2:
                break
            if time.monotonic() > limit:
                raise RuntimeError(f"the backlog did not drain: outbox depth {drain[-1].outbox_depth}")
        caught_up = drain[-1]
        catch_up_s = caught_up.t_s - restored.t_s
        drain_batches_per_s = _rate(restored, caught_up, "acked_total")
        # a few more live picks after the catch-up for comparison, then stop the store
        time.sleep(min(8.0, live_s / 2))
        picking.set()
        th.join(30)
        for d in rig.devices:
            d.pause()
        rig.llrp.stop()
        rig.llrp = None
        time.sleep(3.0)
        final = rig.sample(t0)
        readings_in = int(final.metrics.get("readings_in_total", 0))
        events_in = int(final.metrics.get("events_in_total", 0))
        deadline = time.monotonic() + 120
        while True:
            stored = _count_points(rig)
            total, distinct = _boh_events(rig)
            if (stored >= readings_in and total >= events_in) or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        urgent = _urgent_first(rig, cut_ns, restore_ns)
        during = [x["api_ms"] for x in timed if x["done_s"] <= caught_up.t_s]
        after = [x["api_ms"] for x in timed if x["done_s"] > caught_up.t_s]
        figures = {
            "outage_s": outage_s,
            "live_s": live_s,
            "live_batches_per_s": round(live_batches_per_s, 2),
            "live_readings_per_s": round(live_readings_per_s, 1),
            "backlog_batches": backlog,
            "backlog_readings": backlog_readings,
            "drain_batches_per_s": round(drain_batches_per_s, 2),
            "drain_vs_live": round(drain_batches_per_s / live_batches_per_s, 1)
            if live_batches_per_s
            else None,
            "catch_up_s": round(catch_up_s, 2),
            "pick_to_api_while_draining": percentiles(during),
            "pick_to_api_after_catch_up": percentiles(after),
            "readings_accepted": readings_in,
            "readings_stored": stored,
            "readings_lost": max(0, readings_in - stored),
            "events_accepted": events_in,
            "events_applied": distinct,
            "events_lost": max(0, events_in - distinct),
            "events_applied_twice": total - distinct,
            "gateway_dropped": _loss_counters(final.metrics),
            "outbox_depth_live_max": live_depth,
            "rss_mb_median": statistics.median(s.rss_mb for s in samples),
            "urgent": urgent,
            "load_average_before": load_before,
            "load_average_after": loadavg(),
        }
        say(
            "outage",
            f"drained {backlog} batches at {drain_batches_per_s:.1f} batches/s = {figures['drain_vs_live']}x live, "
            f"caught up in {catch_up_s:.1f} s; readings lost {figures['readings_lost']}, events lost "
            f"{figures['events_lost']}, applied twice {figures['events_applied_twice']}",
        )
        return figures
    finally:
        rig.close()
        if tmp is not None:
            tmp.cleanup()
