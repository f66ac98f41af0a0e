"""GET /stock: sensed stock per SKU and location."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import ConfigDict

from .._common import ApiModel, Name
from .._deps import CoreDep
from .._export import CSV_RESPONSES, Period, PeriodFrom, PeriodTo, csv_response
from .._identity import PrincipalDep
from .._paging import PageDep, check_sort, sort_query, sorted_rows

router = APIRouter(tags=["stock"])


class StockLevel(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    site: str
    sku: str
    location: str
    units: float | None
    as_of_ns: int | None
    reorder_point: float
    target: float
    safety_stock: float
    below_reorder_point: bool


#: what /stock sorts by
SORTS = ("site", "sku", "location", "units", "as_of_ns", "below_reorder_point")


@router.get("/stock", response_model=list[StockLevel])
def stock(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    site: Name | None = None,
    sku: Name | None = None,
    sort: Annotated[str | None, sort_query(SORTS, "site")] = None,
) -> list[StockLevel]:
    """Stock per SKU and location, by site, SKU and location; ``sort=units`` puts the
    emptiest first, ``sort=-as_of_ns`` the newest counts."""
    check_sort(sort, SORTS)
    found = sorted_rows(core.stock_levels(sites=principal.site_filter(site), sku=sku), sort, getattr)
    return [StockLevel.model_validate(s) for s in page.slice(found)]


@router.get("/stock/export.csv", response_class=Response, responses=CSV_RESPONSES)
def export_stock(
    core: CoreDep,
    principal: PrincipalDep,
    since: PeriodFrom = None,
    until: PeriodTo = None,
    site: Name | None = None,
    sku: Name | None = None,
) -> Response:
    """Stock per SKU and location as CSV, with its reorder point, target and safety stock:
    the locations whose count is from ``[from, to)`` (``as_of``); without ``from`` and
    ``to``, every location, counted or not."""
    period = Period(since, until)
    found = core.stock_levels(sites=principal.site_filter(site), sku=sku)
    bounded = period.start is not None or period.end is not None
    rows = (StockLevel.model_validate(x) for x in found if not bounded or period.holds(x.as_of_ns))
    return csv_response(StockLevel, rows, "stock.csv")
