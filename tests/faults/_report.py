"""One line of figures per fault: readings produced / stored / lost / applied twice, and
the time to recover. Each test calls ``report``; the line is printed (``pytest -s``) and,
when ``BOHSENSE_FAULT_REPORT`` names a file, appended to it as one JSON object per line,
so a run leaves the figures that docs/reliability.md quotes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["Figures", "integrity_check", "lost_samples", "report", "score", "settle"]


class Figures(dict[str, Any]):
    """The figures of one fault run (a dict, so extra fields ride along)."""


def report(
    fault: str,
    *,
    produced: int,
    stored: int,
    lost: int,
    applied_twice: int,
    recover_s: float | None,
    **extra: Any,
) -> Figures:
    figures = Figures(
        fault=fault,
        produced=produced,
        stored=stored,
        lost=lost,
        applied_twice=applied_twice,
        recover_s=None if recover_s is None else round(recover_s, 2),
        **extra,
    )
    line = json.dumps(figures, sort_keys=False)
    print(f"\nFAULT {line}")
    target = os.environ.get("BOHSENSE_FAULT_REPORT")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    return figures


def integrity_check(db: Path) -> str:
    """``PRAGMA integrity_check`` of a copy of ``db`` and its WAL, as a restart finds them
    (the copy: the check must not recover or checkpoint the file under test)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / db.name
        shutil.copy2(db, copy)
        for suffix in ("-wal", "-journal"):
            side = db.with_name(db.name + suffix)
            if side.exists():
                shutil.copy2(side, copy.with_name(copy.name + suffix))
        con = sqlite3.connect(copy)
        try:
            rows = con.execute("PRAGMA integrity_check").fetchall()
        finally:
            con.close()
    return "; ".join(str(r[0]) for r in rows)


def score(system: Any) -> tuple[int, int, int, int]:
    """(produced, stored, lost, applied twice) of a ``tests.system.harness.StoreSystem``:
    produced is the devices' own count of samples sent, stored what InfluxDB counts of
    those raw series, lost the shortfall, applied twice the cloud's applied readings
    beyond the distinct points stored (derived ``units`` readings included)."""
    expected = system.expected()
    stored = system.stored()
    produced = sum(expected.values())
    raw_stored = sum(min(stored.get(k, 0), v) for k, v in expected.items())
    lost = sum(max(0, v - stored.get(k, 0)) for k, v in expected.items())
    applied_twice = int(system.service.stats()["readings_applied"]) - sum(stored.values())
    return produced, raw_stored, lost, applied_twice


#: a stored point is a device sample's if their times are this close (samples are 100 ms apart)
MATCH_NS = 40_000_000


def lost_samples(
    system: Any, windows: list[tuple[int, int]], outside_at: list[int] | None = None
) -> tuple[int, int]:
    """Readings of samples the devices sent that InfluxDB does not hold, split into
    (inside ``windows``, outside them): each window is (from, to) in UTC ns, a time when
    no gateway process could read the port. A sample is matched to a stored point of its
    first series by time (the gateway's corrected event time is within a few ms of the
    device's sample instant); its readings count as one per series of the device.
    ``outside_at`` collects the sample instants of those lost outside the windows."""
    import bisect

    from bohsense.cloud.tsdb._lineproto import measurement_of, split_device

    inside = outside = 0
    for device in system.devices:
        series = [key for key in system.expected() if key[0].split(".lane-")[0] == device.device_id]
        dev, metric = series[0]
        measurement = measurement_of(metric)
        tag, lane = split_device(measurement, dev)
        out = system.influx.query(
            f'SELECT "{metric}" FROM "{measurement}" WHERE "device" = \'{tag}\' AND "lane" = \'{lane}\'',
            db=system.db,
        )
        rows = out["results"][0].get("series", [{}])[0].get("values", [])
        times = sorted(int(r[0]) for r in rows)
        for _seq, _time_us, wall_ns in list(device.sample_log):
            i = bisect.bisect_left(times, wall_ns)
            near = [abs(times[j] - wall_ns) for j in (i - 1, i) if 0 <= j < len(times)]
            if near and min(near) <= MATCH_NS:
                continue
            if any(a <= wall_ns <= b for a, b in windows):
                inside += len(series)
            else:
                outside += len(series)
                if outside_at is not None:
                    outside_at.append(int(wall_ns))
    return inside, outside


async def settle(system: Any, *, quiet_s: float = 3.0, limit_s: float = 60.0) -> None:
    """Wait until every produced reading is stored, or until InfluxDB's count has not
    moved for ``quiet_s`` (what is missing then is lost, not late), at most ``limit_s``."""
    import asyncio
    import time

    deadline = time.monotonic() + limit_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        stored = system.stored()
        expected = system.expected()
        if all(stored.get(k, 0) >= v for k, v in expected.items()):
            return
        total = sum(stored.values())
        if total != last:
            last, since = total, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        await asyncio.sleep(0.25)
