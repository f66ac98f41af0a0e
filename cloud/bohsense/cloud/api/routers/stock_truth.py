"""The stock truth: GET /stock/sensed (one number per SKU and location with its source,
confidence and trust, beside book stock), GET /stock/outages (out-of-stock periods with
their lost-sales estimate), GET /stock/heatmap (out-of-stock minutes per site, aisle,
shelf and hour). Filters are strict: an unknown one, or one given twice, is refused (422).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict, Field

from .._common import ApiModel, Name, enum_field, parse_time, query_problem
from .._deps import CoreDep
from .._identity import PrincipalDep
from .._paging import PageDep, check_sort, sort_query, sorted_rows

router = APIRouter(prefix="/stock", tags=["stock"])

_TIME = "ISO 8601 with timezone, or integer ns since the epoch"
#: what /stock/sensed and /stock/outages/totals sort by
SENSED_SORTS = ("site", "sku", "location", "units", "level", "as_of_ns", "book_minus_sensed")
TOTAL_SORTS = ("site", "sku", "outages", "oos_s", "lost_units")
#: the widest heat map one call answers (hours)
MAX_HEATMAP_HOURS = 24 * 31


class LaneSense(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    gateway: str
    device: str
    units: float | None = Field(description="the lane's newest count by event time")
    units_ts_ns: int | None
    state: str = enum_field(
        ("stable", "settling", "unfit", "fault", ""),
        'stable, settling, unfit or fault; "" until the lane sent a state',
    )
    reason: str
    confidence: float | None


class SensedStock(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    site: str
    sku: str
    location: str
    aisle: str
    shelf: str
    units: float | None = Field(description="the one sensed number; null while it cannot be trusted")
    source: str = Field(description="weight, rfid, fused (both: RFID's count, weight cross-checks) or none")
    confidence: float = Field(description="0-1")
    trusted: bool = Field(description="false while a lane is in fault or unfit and no RFID count stands in")
    reason: str = Field(description="why it is untrusted, or how the sources disagree")
    weight_units: float | None
    weight_trusted: bool
    rfid_units: int | None
    disagreement: bool = Field(description="weight and RFID differ beyond the tolerance (an open alert)")
    as_of_ns: int | None = Field(description="event time of the newest input")
    last_trusted_units: float | None
    last_trusted_ns: int | None
    empty_since_ns: int | None = Field(description="since when the trusted count has been 0")
    level: str = enum_field(
        ("in_stock", "low", "out_of_stock", "untrusted", "unknown"),
        "in_stock, low (below the reorder point), out_of_stock, untrusted, unknown",
    )
    book_units: float | None = Field(description="book stock from the ledger (null: no movement yet)")
    last_sale_ns: int | None
    book_minus_sensed: float | None = Field(description="book - sensed when both are known and trusted")
    lanes: list[LaneSense]


class Rollup(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    site: str
    sku: str = Field(description='the SKU (by store); "" by shelf')
    aisle: str = Field(description='by shelf; "" by store')
    shelf: str = Field(description='by shelf; "" by store')
    locations: int
    units: float | None = Field(description="summed over the trusted locations (null: none is)")
    trusted: bool = Field(description="every location's count is trusted")
    untrusted: int
    out_of_stock: int
    low: int
    confidence: float = Field(description="the lowest of the trusted locations' confidence")
    book_units: float | None


class Outage(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    site: str
    sku: str
    location: str
    aisle: str
    shelf: str
    started_ns: int
    ended_ns: int | None = Field(description="null while it lasts")
    duration_s: float = Field(description="to its end, or to now while it lasts")
    rate_per_h: float = Field(description="units per hour sold before it began")
    rate_source: str = Field(description="pos (sales), sensed (picks) or none")
    lost_units: float = Field(description="the lost-sales estimate: rate_per_h × duration")


class OutageTotal(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    site: str
    sku: str
    outages: int = Field(description="out-of-stock periods overlapping the range")
    oos_s: float = Field(description="their time in the range, summed over the SKU's locations")
    lost_units: float = Field(description="the lost-sales estimate for that time")
    open_now: int = Field(description="periods still lasting")


class HeatCell(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    site: str
    aisle: str
    shelf: str
    hour_ns: int = Field(description="the UTC hour the cell starts at")
    oos_minutes: float = Field(description="out-of-stock minutes summed over the cell's locations")
    locations: int = Field(description="how many locations were out of stock in the hour")


def _range(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    since_ns = parse_time("since", since) if since is not None else None
    until_ns = parse_time("until", until) if until is not None else None
    if since_ns is not None and until_ns is not None and since_ns >= until_ns:
        raise query_problem("until", "since must be before until")
    return since_ns, until_ns


@router.get("/sensed", response_model=list[SensedStock])
async def sensed(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    site: Annotated[Name | None, Query(description="one site")] = None,
    sku: Annotated[Name | None, Query(description="one SKU")] = None,
    sort: Annotated[str | None, sort_query(SENSED_SORTS, "site")] = None,
) -> list[SensedStock]:
    """One stock truth per SKU and location: the fused sensed number with its source and
    confidence, both sources, the lanes' states, and book stock with the difference.
    ``sort=units`` puts the emptiest first, ``sort=-book_minus_sensed`` the largest gap."""
    check_sort(sort, SENSED_SORTS)
    sites = principal.site_filter(site)
    found = await run_in_threadpool(
        lambda: page.slice(sorted_rows(core.sensed_stock(sites=sites, sku=sku), sort, getattr))
    )
    return [SensedStock.model_validate(x) for x in found]


@router.get("/sensed/rollup", response_model=list[Rollup])
async def rollup(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    by: Annotated[Literal["shelf", "store"], Query(description="per shelf, or per store and SKU")],
    site: Annotated[Name | None, Query(description="one site")] = None,
) -> list[Rollup]:
    """Sensed stock summed per shelf (site, aisle, shelf) or per store and SKU, with how
    many of the locations are untrusted, out of stock or low."""
    sites = principal.site_filter(site)
    found = await run_in_threadpool(lambda: page.slice(core.sensed_rollup(by=by, sites=sites)))
    return [Rollup.model_validate(x) for x in found]


@router.get("/outages", response_model=list[Outage])
async def outages(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    site: Annotated[Name | None, Query(description="one site")] = None,
    sku: Annotated[Name | None, Query(description="one SKU")] = None,
    since: Annotated[str | None, Query(description=f"overlapping from: {_TIME}")] = None,
    until: Annotated[str | None, Query(description=f"overlapping before: {_TIME}")] = None,
    open_only: Annotated[bool, Query(alias="open", description="only those still lasting")] = False,
) -> list[Outage]:
    """Out-of-stock periods, newest start first, with duration and lost-sales estimate."""
    since_ns, until_ns = _range(since, until)
    sites = principal.site_filter(site)
    found = await run_in_threadpool(
        lambda: page.rows(
            lambda limit, offset: core.stock_outages(
                sites=sites,
                sku=sku,
                since_ns=since_ns,
                until_ns=until_ns,
                open_only=open_only,
                limit=limit,
                offset=offset,
            )
        )
    )
    return [Outage.model_validate(x) for x in found]


@router.get("/outages/totals", response_model=list[OutageTotal])
async def outage_totals(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    since: Annotated[str, Query(description=f"from: {_TIME}")],
    until: Annotated[str, Query(description=f"before: {_TIME}")],
    site: Annotated[Name | None, Query(description="one site")] = None,
    sku: Annotated[Name | None, Query(description="one SKU")] = None,
    sort: Annotated[str | None, sort_query(TOTAL_SORTS, "site")] = None,
) -> list[OutageTotal]:
    """Per SKU and store: out-of-stock time within ``[since, until)`` and the lost-sales
    estimate; ``sort=-lost_units`` puts the costliest first."""
    check_sort(sort, TOTAL_SORTS)
    since_ns, until_ns = _range(since, until)
    assert since_ns is not None
    assert until_ns is not None
    sites = principal.site_filter(site)
    found = await run_in_threadpool(
        lambda: page.slice(
            sorted_rows(
                core.stock_outage_totals(since_ns=since_ns, until_ns=until_ns, sites=sites, sku=sku),
                sort,
                getattr,
            )
        )
    )
    return [OutageTotal.model_validate(x) for x in found]


@router.get("/heatmap", response_model=list[HeatCell])
async def heatmap(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    since: Annotated[str, Query(description=f"from: {_TIME}")],
    until: Annotated[str, Query(description=f"before: {_TIME}")],
    site: Annotated[Name | None, Query(description="one site")] = None,
) -> list[HeatCell]:
    """Out-of-stock minutes per site × aisle/shelf × UTC hour in ``[since, until)`` (at most
    31 days); cells without out-of-stock time are left out (they are 0)."""
    since_ns, until_ns = _range(since, until)
    assert since_ns is not None
    assert until_ns is not None
    if until_ns - since_ns > MAX_HEATMAP_HOURS * 3600 * 10**9:
        raise query_problem("until", f"the range is wider than {MAX_HEATMAP_HOURS} hours")
    sites = principal.site_filter(site)
    found = await run_in_threadpool(
        lambda: page.slice(core.stock_heatmap(since_ns=since_ns, until_ns=until_ns, sites=sites))
    )
    return [HeatCell.model_validate(x) for x in found]
