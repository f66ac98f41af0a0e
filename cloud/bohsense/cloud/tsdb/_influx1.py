"""InfluxDB 1.x over its HTTP API: ``POST /write`` (line protocol, ns) and ``/query`` (InfluxQL).

Writes go through one kept-alive ``http.client`` connection owned by one thread: the
body is sent and the answer awaited without holding the GIL or the event loop, at a
fraction of an async HTTP client's per-request cost (which matters at ~60 POSTs/s).
Queries, rare and small, use ``httpx.AsyncClient``.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlsplit

import httpx

from bohsense.cloud.tsdb._errors import REFUSING_STATUSES, StorageRefused, StorageRejected, StorageUnavailable
from bohsense.cloud.tsdb._influxql import InfluxQLQueries, check_response, quote_ident
from bohsense.contracts.schema import ReadingBatch

__all__ = ["Influx1Store"]

log = logging.getLogger(__name__)
_TEXT = {"Content-Type": "text/plain; charset=utf-8"}


class Influx1Store(InfluxQLQueries):
    """Writes up to ``chunk_points`` points per POST, one POST after another."""

    def __init__(
        self,
        base_url: str,
        database: str,
        *,
        retention_policy: str | None = None,
        username: str | None = None,
        password: str | None = None,
        chunk_points: int = 5000,
        timeout_s: float = 10.0,
        create_database: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.database = database
        self.chunk_points = chunk_points
        self.create_database = create_database
        self.description = f"influx1 {self.base_url} db={database}"
        params = {"db": database}
        if retention_policy:
            params["rp"] = retention_policy
        if username:
            params["u"] = username
            params["p"] = password or ""
        self._query_params = params
        self._write_path = "/write?" + urlencode({**params, "precision": "ns"})
        self._write_params = {**params, "precision": "ns"}
        self._timeout_s = timeout_s
        self._conn: http.client.HTTPConnection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="influx1-write")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
        )

    async def setup(self) -> None:
        try:
            resp = await self._http.get("/ping")
        except httpx.TransportError as exc:
            raise StorageUnavailable(f"{self.description}: {type(exc).__name__}: {exc}") from exc
        check_response(resp, "ping")
        if self.create_database:
            try:
                await self.influxql(f"CREATE DATABASE {quote_ident(self.database)}", write=True)
            except (StorageRejected, StorageRefused) as exc:  # no admin right: it must exist already
                log.warning("cannot create database %s: %s", self.database, exc)
        # /ping needs no credentials: a read in the database checks them, and that it exists
        try:
            await self.influxql(f"SHOW RETENTION POLICIES ON {quote_ident(self.database)}")
        except StorageRejected as exc:
            raise StorageRefused(f"{self.description}: {exc}") from None

    async def write(self, batches: Sequence[ReadingBatch]) -> int:
        written = 0
        for body, n in await self.bodies(batches):
            await self.write_lines(body)
            written += n
        return written

    async def write_lines(self, body: str) -> None:
        """POST one newline-joined line-protocol body."""
        loop = asyncio.get_running_loop()
        status, text = await loop.run_in_executor(self._executor, self._post, body.encode())
        if status >= 500:
            raise StorageUnavailable(f"write to {self.description}: HTTP {status}: {text[:500]}")
        if status in REFUSING_STATUSES or (status == 404 and "database not found" in text):
            raise StorageRefused(f"write to {self.description}: HTTP {status}: {text[:500].strip()}")
        if status >= 400:
            raise StorageRejected(text[:2000].strip() or f"HTTP {status}", status)

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            u = urlsplit(self.base_url)
            cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
            self._conn = cls(u.hostname or "127.0.0.1", u.port, timeout=self._timeout_s)
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, body: bytes) -> tuple[int, str]:
        """One POST on the kept-alive connection (retried once on a fresh one if the
        server had closed the old one: writes are idempotent)."""
        for attempt in (0, 1):
            reused = self._conn is not None
            conn = self._connection()
            try:
                conn.request("POST", self._write_path, body, _TEXT)
                resp = conn.getresponse()
                text = resp.read().decode("utf-8", "replace")
                if resp.will_close:
                    self._drop_connection()
                return resp.status, text
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop_connection()
                if reused and attempt == 0:
                    continue
                raise StorageUnavailable(f"write to {self.description}: {type(exc).__name__}: {exc}") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                raise StorageUnavailable(f"write to {self.description}: {type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self._http.aclose()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._drop_connection)
        self._executor.shutdown(wait=False)
