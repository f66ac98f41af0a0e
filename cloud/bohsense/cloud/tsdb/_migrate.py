"""Rewrite the first schema's ``reading`` measurement into the current one.

``migrate_legacy(store)`` reads the old points window by window (``SELECT value FROM
reading WHERE time … GROUP BY gateway, device, metric``), turns them back into readings
and writes them through the store's own writer, so they land exactly where live ingest
puts them (measurement by metric, shelf lanes split into ``device``/``lane``, ``site``
from the catalog). InfluxQL's ``SELECT … INTO`` cannot do this: it can rename neither a
tag value into two tags nor a tag into a field key.

It is idempotent: a point written twice replaces itself, so an interrupted run is simply
run again. It drops the old measurement only when asked (``drop=True``) and only after
counting, in the same time range, at least as many points in the new schema as it read.
Progress goes to ``progress(done, total)`` after every window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bohsense.cloud.tsdb._errors import StorageRejected
from bohsense.cloud.tsdb._influxql import quote_ident
from bohsense.cloud.tsdb._lineproto import LEGACY_MEASUREMENT, MEASUREMENTS
from bohsense.contracts.schema import Reading, ReadingBatch

__all__ = ["MigrationReport", "migrate_legacy"]


class _Store(Protocol):
    async def influxql(self, q: str, *, write: bool = False) -> list[dict[str, Any]]: ...
    async def bodies(self, batches: Any) -> list[tuple[str, int]]: ...
    async def write_lines(self, body: str) -> None: ...


@dataclass(frozen=True, slots=True)
class MigrationReport:
    legacy_points: int  # points in ``reading`` when the run started
    migrated: int  # readings written in the new schema
    windows: int  # windows read
    verified: bool  # the new schema holds at least ``legacy_points`` in that time range
    dropped: bool  # ``reading`` was dropped

    def as_dict(self) -> dict[str, Any]:
        return {
            "legacy_points": self.legacy_points,
            "migrated": self.migrated,
            "windows": self.windows,
            "verified": self.verified,
            "dropped": self.dropped,
        }


async def _scalar(store: _Store, q: str) -> Any:
    series = await store.influxql(q)
    if not series or not series[0].get("values"):
        return None
    return series[0]["values"][0]


async def _new_points(store: _Store, first: int, last: int) -> int:
    sources = ", ".join(quote_ident(m) for m in MEASUREMENTS)
    total = 0
    for s in await store.influxql(f"SELECT count(*) FROM {sources} WHERE time >= {first} AND time <= {last}"):
        for row in s.get("values") or []:
            total += sum(int(v) for v in row[1:] if v is not None)
    return total


async def migrate_legacy(
    store: _Store,
    *,
    window_s: int = 600,
    drop: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> MigrationReport:
    if window_s <= 0:
        raise StorageRejected(f"window must be positive, not {window_s} s")
    legacy = quote_ident(LEGACY_MEASUREMENT)
    names = {row[0] for s in await store.influxql("SHOW MEASUREMENTS") for row in s.get("values") or []}
    if LEGACY_MEASUREMENT not in names:
        return MigrationReport(0, 0, 0, True, False)
    count = await _scalar(store, f"SELECT count(value) FROM {legacy}")
    total = int(count[1]) if count else 0
    first_row = await _scalar(store, f"SELECT first(value) FROM {legacy}")
    last_row = await _scalar(store, f"SELECT last(value) FROM {legacy}")
    if not total or first_row is None or last_row is None:
        return MigrationReport(0, 0, 0, True, False)
    first, last = int(first_row[0]), int(last_row[0])
    step = window_s * 1_000_000_000
    done = windows = 0
    start = first
    while start <= last:
        end = start + step
        series = await store.influxql(
            f"SELECT value FROM {legacy} WHERE time >= {start} AND time < {end} GROUP BY gateway, device, metric"
        )
        windows += 1
        by_gateway: dict[str, list[Reading]] = {}
        for s in series:
            tags = s.get("tags") or {}
            rs = by_gateway.setdefault(tags.get("gateway", ""), [])
            device, metric = tags.get("device", ""), tags.get("metric", "")
            rs.extend(
                Reading(device, metric, int(ts), float(v)) for ts, v in s.get("values") or [] if v is not None
            )
        batches = [ReadingBatch(gateway=g, seq=1, sent=0, readings=rs) for g, rs in by_gateway.items() if rs]
        for body, n in await store.bodies(batches):
            await store.write_lines(body)
            done += n
        if progress is not None:
            progress(done, total)
        if not series:  # a gap: jump to the next old point instead of walking it
            nxt = await _scalar(store, f"SELECT first(value) FROM {legacy} WHERE time >= {end}")
            start = int(nxt[0]) if nxt else last + 1
        else:
            start = end
    verified = await _new_points(store, first, last) >= total
    dropped = False
    if drop and verified:
        await store.influxql(f"DROP MEASUREMENT {legacy}", write=True)
        dropped = True
    return MigrationReport(total, done, windows, verified, dropped)
