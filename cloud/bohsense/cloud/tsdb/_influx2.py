"""InfluxDB 2.x / 3.x / Cloud: writes through influxdb-client's write API (ready
line-protocol strings, never ``Point`` objects), queries in InfluxQL through the
v1-compatible ``/query`` endpoint with the token, so one query layer serves every version.

influxdb-client's synchronous write API blocks, so each write runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from bohsense.cloud.tsdb._errors import REFUSING_STATUSES, StorageRefused, StorageRejected, StorageUnavailable
from bohsense.cloud.tsdb._influxql import InfluxQLQueries, check_response
from bohsense.contracts.schema import ReadingBatch

__all__ = ["Influx2Store"]


class Influx2Store(InfluxQLQueries):
    def __init__(
        self,
        base_url: str,
        *,
        org: str,
        bucket: str,
        token: str,
        chunk_points: int = 5000,
        timeout_s: float = 10.0,
    ) -> None:
        from influxdb_client.client.influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self.base_url = base_url.rstrip("/")
        self.org = org
        self.bucket = bucket
        self.chunk_points = chunk_points
        self.description = f"influx2 {self.base_url} org={org} bucket={bucket}"
        self._client = InfluxDBClient(url=self.base_url, token=token, org=org, timeout=int(timeout_s * 1000))
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        self._query_params = {"db": bucket}
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s),
            headers={"Authorization": f"Token {token}"},
        )

    async def setup(self) -> None:
        try:
            resp = await self._http.get("/ping")
        except httpx.TransportError as exc:
            raise StorageUnavailable(f"{self.description}: {type(exc).__name__}: {exc}") from exc
        check_response(resp, "ping")

    def _write_sync(self, body: str) -> None:
        from influxdb_client.domain.write_precision import WritePrecision
        from influxdb_client.rest import ApiException

        try:
            self._write_api.write(
                bucket=self.bucket,
                org=self.org,
                record=body,
                write_precision=WritePrecision.NS,  # type: ignore[arg-type]
            )
        except ApiException as exc:
            status = int(exc.status or 0)
            if status >= 500 or status in (0, 429):
                raise StorageUnavailable(f"write to {self.description}: HTTP {status}: {exc.body}") from exc
            if status in REFUSING_STATUSES or status == 404:  # token refused, no such bucket or org
                raise StorageRefused(f"write to {self.description}: HTTP {status}: {exc.body}") from exc
            raise StorageRejected(str(exc.body or exc.reason), status) from exc
        except Exception as exc:  # urllib3 connection / timeout errors
            if _is_transport_error(exc):
                raise StorageUnavailable(f"write to {self.description}: {type(exc).__name__}: {exc}") from exc
            raise

    async def write(self, batches: Sequence[ReadingBatch]) -> int:
        written = 0
        for body, n in await self.bodies(batches):
            await asyncio.to_thread(self._write_sync, body)
            written += n
        return written

    async def write_lines(self, body: str) -> None:
        """Write one newline-joined line-protocol body."""
        await asyncio.to_thread(self._write_sync, body)

    async def close(self) -> None:
        await self._http.aclose()
        await asyncio.to_thread(self._close_sync)

    def _close_sync(self) -> None:
        self._write_api.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]


def _is_transport_error(exc: Any) -> bool:
    import urllib3.exceptions

    return isinstance(exc, urllib3.exceptions.HTTPError | OSError)
