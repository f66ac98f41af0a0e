"""Embedded time-series store in SQLite (WAL), for one machine with nothing installed.

Table ``reading`` has the primary key (gateway, device, metric, ts), so writing a point
again replaces it: a replayed batch is idempotent, exactly as in InfluxDB. Calls run in a
worker thread; one connection, serialised by a lock.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from bohsense.cloud.ports import LatestPoint
from bohsense.cloud.tsdb._errors import StorageRejected, StorageUnavailable
from bohsense.contracts.schema import ReadingBatch

__all__ = ["SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reading (
    gateway TEXT NOT NULL,
    device  TEXT NOT NULL,
    metric  TEXT NOT NULL,
    ts      INTEGER NOT NULL,
    value   REAL NOT NULL,
    PRIMARY KEY (gateway, device, metric, ts)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reading_device_metric_ts ON reading (device, metric, ts);
"""


class SqliteStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.description = f"sqlite:///{self.path}"
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    # -- plumbing ---------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def _run(self, fn: Any, *args: Any) -> Any:
        with self._lock:
            try:
                return fn(self._connect(), *args)
            except sqlite3.IntegrityError as exc:
                raise StorageRejected(f"sqlite: {exc}") from exc
            except (sqlite3.OperationalError, sqlite3.DatabaseError) as exc:
                raise StorageUnavailable(f"sqlite {self.path}: {exc}") from exc

    # -- interface --------------------------------------------------------------------
    async def setup(self) -> None:
        await asyncio.to_thread(self._run, lambda conn: None)

    async def write(self, batches: Sequence[ReadingBatch]) -> int:
        rows: list[tuple[str, str, str, int, float]] = []
        for b in batches:
            for r in b.readings:
                if not math.isfinite(r.value):
                    raise StorageRejected(
                        f"value {r.value!r} of {b.gateway}/{r.device}/{r.metric} is not a finite number"
                    )
                rows.append((b.gateway, r.device, r.metric, r.ts, r.value))
        if not rows:
            return 0

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN")
            try:
                conn.executemany("INSERT OR REPLACE INTO reading VALUES (?, ?, ?, ?, ?)", rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await asyncio.to_thread(self._run, insert)
        return len(rows)

    async def latest(
        self,
        *,
        gateways: Collection[str] | None = None,
        device: str | None = None,
        metric: str | None = None,
    ) -> list[LatestPoint]:
        if gateways is not None and not gateways:
            return []
        where: list[str] = []
        params: list[Any] = []
        if gateways is not None:
            names = sorted(set(gateways))
            where.append(f"gateway IN ({', '.join('?' * len(names))})")
            params.extend(names)
        for col, val in (("device", device), ("metric", metric)):
            if val is not None:
                where.append(f"{col} = ?")
                params.append(val)
        sql = "SELECT gateway, device, metric, MAX(ts), value FROM reading"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " GROUP BY gateway, device, metric ORDER BY gateway, device, metric"
        rows = await asyncio.to_thread(self._run, lambda conn: conn.execute(sql, params).fetchall())
        return [LatestPoint(g, d, m, int(ts), float(v)) for g, d, m, ts, v in rows]

    async def series(
        self,
        *,
        gateway: str,
        device: str,
        metric: str,
        start_ns: int,
        end_ns: int,
        every_s: int | None = None,
    ) -> list[tuple[int, float]]:
        if every_s is not None and every_s <= 0:
            raise StorageRejected(f"every_s must be positive, not {every_s}")
        scope = "WHERE gateway = ? AND device = ? AND metric = ? AND ts >= ? AND ts < ?"
        if every_s is None:
            sql = f"SELECT ts, value FROM reading {scope} ORDER BY ts"
            params: tuple[Any, ...] = (gateway, device, metric, start_ns, end_ns)
        else:
            w = every_s * 1_000_000_000
            sql = f"SELECT (ts / ?) * ? AS t, AVG(value) FROM reading {scope} GROUP BY t ORDER BY t"
            params = (w, w, gateway, device, metric, start_ns, end_ns)
        rows = await asyncio.to_thread(self._run, lambda conn: conn.execute(sql, params).fetchall())
        return [(int(t), float(v)) for t, v in rows]

    async def close(self) -> None:
        def _close() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.to_thread(_close)
