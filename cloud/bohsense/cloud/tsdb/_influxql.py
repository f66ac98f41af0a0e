"""The InfluxQL query layer shared by the InfluxDB backends (1.x natively, 2.x/3.x/Cloud
through their v1-compatible ``/query`` endpoint).

Every query asks for ``epoch=ns`` so times come back as integer nanoseconds. String
literals are single-quoted with ``\\`` and ``'`` escaped.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import httpx

from bohsense.cloud.ports import LatestPoint
from bohsense.cloud.tsdb._errors import REFUSING_STATUSES, StorageRefused, StorageRejected, StorageUnavailable
from bohsense.cloud.tsdb._lineproto import (
    MEASUREMENTS,
    SHELF,
    chunked_lines,
    join_device,
    measurement_of,
    split_device,
)
from bohsense.cloud.tsdb._sites import SiteCache
from bohsense.contracts.schema import ReadingBatch

__all__ = ["InfluxQLQueries", "check_response", "quote_ident", "quote_literal"]


def quote_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_ident(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_response(resp: httpx.Response, what: str) -> None:
    """Map an HTTP answer to the store's errors (5xx retryable, 401/403 refused, other 4xx rejected)."""
    if resp.status_code >= 500:
        raise StorageUnavailable(f"{what}: HTTP {resp.status_code}: {resp.text[:500]}")
    if resp.status_code in REFUSING_STATUSES:
        raise StorageRefused(f"{what}: HTTP {resp.status_code}: {resp.text[:500].strip()}")
    if resp.status_code >= 400:
        raise StorageRejected(resp.text[:2000].strip() or resp.reason_phrase, resp.status_code)


def _device_conds(measurement: str, device: str | None) -> list[str]:
    if device is None:
        return []
    dev, lane = split_device(measurement, device)
    conds = [f"device = {quote_literal(dev)}"]
    if measurement == SHELF:  # a shelf's own readings have no lane: lane = '' matches them
        conds.append(f"lane = {quote_literal(lane)}")
    return conds


class InfluxQLQueries:
    """``latest`` and ``series`` in InfluxQL over an HTTP ``/query`` endpoint, on the
    schema of ``_lineproto`` (a measurement per device kind, a field per metric)."""

    _http: httpx.AsyncClient
    _query_params: Mapping[str, str]  # db (and rp / auth) for every query
    chunk_points: int
    #: the catalog's gateway → site mapping for the ``site`` tag (``None``: the batch's claim)
    sites: SiteCache | None = None

    async def bodies(self, batches: Sequence[ReadingBatch]) -> list[tuple[str, int]]:
        """Line-protocol bodies of ``batches`` with their reading counts, sites resolved."""
        sites = self.sites
        if sites is not None:
            await sites.refresh({b.gateway for b in batches})
        return chunked_lines(batches, self.chunk_points, sites)

    async def influxql(self, q: str, *, write: bool = False) -> list[dict[str, Any]]:
        """Run one InfluxQL statement; return its ``series`` list."""
        return (await self.influxql_many(q, write=write))[0]

    async def influxql_many(self, q: str, *, write: bool = False) -> list[list[dict[str, Any]]]:
        """Run ``;``-separated InfluxQL statements in one request; the ``series`` of each."""
        params = {**self._query_params, "q": q, "epoch": "ns"}
        try:
            if write or len(q) > 4000:  # a long read (many statements) goes in the body
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
        out: list[list[dict[str, Any]]] = []
        for result in results:
            if "error" in result:
                raise StorageRejected(f"{result['error']} (query: {q[:2000]})")
            out.append(list(result.get("series") or []))
        return out

    async def field_keys(self) -> list[tuple[str, str]]:
        """(measurement, field) of every field the writer's measurements hold."""
        pairs: list[tuple[str, str]] = []
        for s in await self.influxql("SHOW FIELD KEYS"):
            if s.get("name") in MEASUREMENTS:
                pairs.extend((s["name"], row[0]) for row in s.get("values") or [])
        return pairs

    async def latest(
        self,
        *,
        gateways: Collection[str] | None = None,
        device: str | None = None,
        metric: str | None = None,
    ) -> list[LatestPoint]:
        if gateways is not None and not gateways:
            return []
        if metric is not None:
            pairs = [(measurement_of(metric), metric)]
        else:
            pairs = await self.field_keys()
        if not pairs:
            return []
        gw_cond = []
        if gateways is not None:
            gw_cond = [
                "(" + " OR ".join(f"gateway = {quote_literal(g)}" for g in sorted(set(gateways))) + ")"
            ]
        statements = []
        for m, f in pairs:
            conds = gw_cond + _device_conds(m, device)
            where = (" WHERE " + " AND ".join(conds)) if conds else ""
            statements.append(
                f"SELECT last({quote_ident(f)}) FROM {quote_ident(m)}{where} GROUP BY gateway, device, lane"
            )
        out: list[LatestPoint] = []
        results = await self.influxql_many(";".join(statements))
        for (_, f), result in zip(pairs, results, strict=True):
            for s in result:
                tags = s.get("tags") or {}
                name = join_device(tags.get("device", ""), tags.get("lane", ""))
                for ts, value in s.get("values") or []:
                    if value is None:
                        continue
                    out.append(LatestPoint(tags.get("gateway", ""), name, f, int(ts), float(value)))
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
        m = measurement_of(metric)
        conds = [f"gateway = {quote_literal(gateway)}", *_device_conds(m, device)]
        where = f" WHERE {' AND '.join(conds)} AND time >= {int(start_ns)} AND time < {int(end_ns)}"
        f, source = quote_ident(metric), quote_ident(m)
        if every_s is None:
            q = f"SELECT {f} FROM {source}{where}"
        else:
            if every_s <= 0:
                raise StorageRejected(f"every_s must be positive, not {every_s}")
            q = f"SELECT mean({f}) FROM {source}{where} GROUP BY time({int(every_s)}s) fill(none)"
        out: list[tuple[int, float]] = []
        for s in await self.influxql(q):
            for ts, value in s.get("values") or []:
                if value is not None:
                    out.append((int(ts), float(value)))
        out.sort()
        return out
