"""GET /readings/latest and /readings/series, answered by the time-series store.

A device name is unique only within its gateway (every store has a ``shelf-1.lane-1``),
so a series is named by (gateway, device, metric) and ``latest`` is scoped by gateway
and / or site (a site's gateways come from the BOH core). A caller scoped to some stores
reads the devices of their gateways only: a series of another store's gateway is 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict

from ...boh import NotFound
from .._common import ApiModel, Name, parse_time
from .._deps import CoreDep, TsdbDep
from .._identity import PrincipalDep
from .._paging import PageDep

router = APIRouter(prefix="/readings", tags=["readings"])

NS = 1_000_000_000
#: the widest raw (un-aggregated) range one request may ask for
MAX_RAW_RANGE_S = 24 * 3600
#: the widest aggregated range, and the most windows it may produce
MAX_RANGE_S = 31 * 24 * 3600
MAX_WINDOWS = 10_000


class LatestPoint(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    gateway: str
    device: str
    metric: str
    ts: int
    value: float


class Series(ApiModel):
    gateway: str
    device: str
    metric: str
    start_ns: int
    end_ns: int
    every_s: int | None
    points: list[tuple[int, float]]


def _site_gateways(core: CoreDep, sites: frozenset[str]) -> set[str]:
    return {g.id for g in core.list_gateways(sites=sites)}


@router.get("/latest", response_model=list[LatestPoint])
async def latest(
    core: CoreDep,
    principal: PrincipalDep,
    tsdb: TsdbDep,
    page: PageDep,
    gateway: Annotated[Name | None, Query(description="only this gateway's devices")] = None,
    site: Annotated[Name | None, Query(description="only the devices of this site's gateways")] = None,
    device: Name | None = None,
    metric: Name | None = None,
) -> list[LatestPoint]:
    gateways: set[str] | None = None
    sites = principal.site_filter(site)
    if sites is not None:
        gateways = await run_in_threadpool(_site_gateways, core, sites)
    if gateway is not None:
        gateways = {gateway} if gateways is None else gateways & {gateway}
    points = await tsdb.latest(gateways=gateways, device=device, metric=metric)
    return [LatestPoint.model_validate(p) for p in page.slice(points)]


@router.get("/series", response_model=Series, responses={404: {"description": "gateway not at that site"}})
async def series(
    core: CoreDep,
    principal: PrincipalDep,
    tsdb: TsdbDep,
    gateway: Annotated[Name, Query(description="the gateway whose device this is")],
    device: Name,
    metric: Name,
    start: Annotated[str, Query(description="ISO 8601 with timezone, or integer ns since the epoch")],
    end: Annotated[
        str, Query(description="ISO 8601 with timezone, or integer ns since the epoch (exclusive)")
    ],
    every: Annotated[
        int | None, Query(ge=1, le=MAX_RANGE_S, description="mean per window of this many s")
    ] = None,
    site: Annotated[Name | None, Query(description="refuse (404) unless the gateway is at this site")] = None,
) -> Series:
    start_ns, end_ns = parse_time("start", start), parse_time("end", end)
    if start_ns >= end_ns:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "start must be before end")
    span_s = (end_ns - start_ns) / NS
    limit = MAX_RAW_RANGE_S if every is None else MAX_RANGE_S
    if span_s > limit:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"range of {span_s:.0f} s exceeds {limit} s"
            + (" (use every= to aggregate)" if every is None else ""),
        )
    if every is not None and span_s / every > MAX_WINDOWS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"{span_s / every:.0f} windows of {every} s exceed {MAX_WINDOWS}: use a larger every=",
        )
    if site is not None:
        principal.require_site(site)
    if site is not None and gateway not in await run_in_threadpool(_site_gateways, core, frozenset({site})):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"gateway {gateway!r} is not at site {site!r}")
    if principal.sites is not None and gateway not in await run_in_threadpool(
        _site_gateways, core, principal.sites
    ):
        raise NotFound("gateway", gateway)
    points = await tsdb.series(
        gateway=gateway, device=device, metric=metric, start_ns=start_ns, end_ns=end_ns, every_s=every
    )
    return Series(
        gateway=gateway,
        device=device,
        metric=metric,
        start_ns=start_ns,
        end_ns=end_ns,
        every_s=every,
        points=points,
    )
