"""InfluxDB 1.x over its HTTP API: ``POST /write`` (line protocol, ns) and ``/query`` (InfluxQL)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx

from bohsense.cloud.tsdb._errors import StorageRejected, StorageUnavailable
from bohsense.cloud.tsdb._influxql import InfluxQLQueries, check_response, quote_ident
from bohsense.cloud.tsdb._lineproto import chunked_lines
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
        self._write_params = {**params, "precision": "ns"}
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
            except StorageRejected as exc:  # no admin right: the database must exist already
                log.warning("cannot create database %s: %s", self.database, exc)

    async def write(self, batches: Sequence[ReadingBatch]) -> int:
        written = 0
        for body, n in chunked_lines(batches, self.chunk_points):
            await self.write_lines(body)
            written += n
        return written

    async def write_lines(self, body: str) -> None:
        """POST one newline-joined line-protocol body."""
        try:
            resp = await self._http.post(
                "/write", params=self._write_params, content=body.encode(), headers=_TEXT
            )
        except httpx.TransportError as exc:
            raise StorageUnavailable(f"write to {self.description}: {type(exc).__name__}: {exc}") from exc
        check_response(resp, f"write to {self.description}")

    async def close(self) -> None:
        await self._http.aclose()
