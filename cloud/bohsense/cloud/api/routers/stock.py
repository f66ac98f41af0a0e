"""GET /stock: sensed stock per SKU and location."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import ConfigDict

from .._common import ApiModel, Name
from .._deps import CoreDep
from .._paging import PageDep

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


@router.get("/stock", response_model=list[StockLevel])
def stock(
    core: CoreDep, page: PageDep, site: Name | None = None, sku: Name | None = None
) -> list[StockLevel]:
    return [StockLevel.model_validate(s) for s in page.slice(core.stock_levels(site=site, sku=sku))]
