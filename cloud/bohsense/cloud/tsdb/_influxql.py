"""The InfluxQL query layer shared by the InfluxDB backends (1.x natively, 2.x/3.x/Cloud
through their v1-compatible ``/query`` endpoint).

Every query asks for ``epoch=ns`` so times come back as integer nanoseconds. String
literals are single-quoted with ``\\`` and ``'`` escaped.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import httpx

from bohsense.cloud.ports import LatestPoint
from bohsense.cloud.tsdb._errors import StorageRejected, StorageUnavailable
from bohsense.cloud.tsdb._lineproto import MEASUREMENT

__all__ = ["InfluxQLQueries", "check_response", "quote_ident", "quote_literal"]


def quote_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_ident(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_response(resp: httpx.Response, what: str) -> None:
    """Map an HTTP answer to the store's errors (5xx retryable, 4xx rejected)."""
    if resp.status_code >= 500:
        raise StorageUnavailable(f"{what}: HTTP {resp.status_code}: {resp.text[:500]}")
    if resp.status_code >= 400:
        raise StorageRejected(resp.text[:2000].strip() or resp.reason_phrase, resp.status_code)


class InfluxQLQueries:
    """``latest`` and ``series`` in InfluxQL over an HTTP ``/query`` endpoint."""

    _http: httpx.AsyncClient
    _query_params: Mapping[str, str]  # db (and rp / auth) for every query

    async def influxql(self, q: str, *, write: bool = False) -> list[dict[str, Any]]:
        """Run one InfluxQL statement; return its ``series`` list."""
        params = {**self._query_params, "q": q, "epoch": "ns"}
        try:
            if write:
                resp = await self._http.post("/query", data=params)
            else:
                resp = await self._http.get("/query", params=params)
        except httpx.TransportError as exc:
            raise StorageUnavailable(f"query: {type(exc).__name__}: {exc}") from exc
        check_response(resp, "query")
        body = resp.json()
        if "error" in body:
            raise StorageRejected(str(body["error"]))
        results = body.get("results") or [{}]
        first = results[0]
        if "error" in first:
            raise StorageRejected(f"{first['error']} (query: {q})")
        return list(first.get("series") or [])

    async def latest(
        self,
        *,
        gateways: Collection[str] | None = None,
        device: str | None = None,
        metric: str | None = None,
    ) -> list[LatestPoint]:
        if gateways is not None and not gateways:
            return []
        conds = [
            f"{col} = {quote_literal(val)}"
            for col, val in (("device", device), ("metric", metric))
            if val is not None
        ]
        if gateways is not None:
            conds.insert(
                0, "(" + " OR ".join(f"gateway = {quote_literal(g)}" for g in sorted(set(gateways))) + ")"
            )
        where = (" WHERE " + " AND ".join(conds)) if conds else ""
        q = f"SELECT last(value) FROM {MEASUREMENT}{where} GROUP BY gateway, device, metric"
        out: list[LatestPoint] = []
        for s in await self.influxql(q):
            tags = s.get("tags") or {}
            for ts, value in s.get("values") or []:
                if value is None:
                    continue
                out.append(
                    LatestPoint(
                        tags.get("gateway", ""),
                        tags.get("device", ""),
                        tags.get("metric", ""),
                        int(ts),
                        float(value),
                    )
                )
        out.sort(key=lambda p: (p.gateway, p.device, p.metric))
        return out

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
        where = (
            f" WHERE gateway = {quote_literal(gateway)} AND device = {quote_literal(device)}"
            f" AND metric = {quote_literal(metric)} AND time >= {int(start_ns)} AND time < {int(end_ns)}"
        )
        if every_s is None:
            q = f"SELECT value FROM {MEASUREMENT}{where}"
        else:
            if every_s <= 0:
                raise StorageRejected(f"every_s must be positive, not {every_s}")
            q = f"SELECT mean(value) FROM {MEASUREMENT}{where} GROUP BY time({int(every_s)}s) fill(none)"
        out: list[tuple[int, float]] = []
        for s in await self.influxql(q):
            for ts, value in s.get("values") or []:
                if value is not None:
                    out.append((int(ts), float(value)))
        out.sort()
        return out
