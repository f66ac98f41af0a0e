"""Item-level inventory from RFID: zone counts against the readers' snapshots, one item's
state and history, and items departed by a door zone.

An EPC in a path is hexadecimal of whole bytes (2 to 124 digits, as the contract's
``ItemPresence.epc``); lower-case digits are accepted and read as upper case, the form
the contract stores. Filters are strict like every filter of the API: an unknown one, or
one given twice, is refused (422).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict, Field

from ...boh import InvalidValue
from .._common import ApiModel, Name, parse_time, query_problem
from .._deps import CoreDep
from .._identity import PrincipalDep
from .._paging import PageDep

router = APIRouter(prefix="/inventory", tags=["inventory"])

_TIME = "ISO 8601 with timezone, or integer ns since the epoch"
Epc = Annotated[
    str,
    Path(
        min_length=2,
        max_length=124,
        pattern=r"^(?:[0-9A-Fa-f]{2})+$",
        description="the EPC as hexadecimal of whole bytes (lower case is read as upper case)",
    ),
]
ZoneFilter = Annotated[
    str | None,
    Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]*$", description="one zone"),
]
SkuFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="one SKU of the catalog (it must have a GTIN)",
    ),
]


class ZoneLine(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    gtin: str = Field(description='GTIN-14; "" for items whose EPC is not a GTIN scheme')
    sku: str | None = Field(description="the catalog's SKU of the GTIN (null: none has it)")
    items: int = Field(description="present items by their own state")
    snapshot: int | None = Field(description="what the zone's newest snapshot counted (null: no snapshot)")
    difference: int | None = Field(description="snapshot - items (null: no snapshot)")


class Snapshot(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    ts_ns: int
    gateway: str
    seq: int
    idx: int
    total: int
    received_ns: int


class ZoneCount(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    site: str
    zone: str
    kind: str = Field(description='floor, backroom or door as the catalog says; "" when not listed')
    items: int
    snapshot: Snapshot | None
    lines: list[ZoneLine]


class ItemState(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    site: str
    epc: str
    gtin: str
    serial: str
    sku: str | None
    zone: str
    zone_kind: str
    present: bool
    transition: str
    ts_ns: int
    gateway: str
    seq: int
    idx: int
    reader: str
    antenna: int
    rssi_dbm: float
    first_seen_ns: int
    updated_ns: int


class ItemEvent(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    site: str
    ts_ns: int
    transition: str
    zone: str
    from_zone: str
    zone_kind: str
    gateway: str
    seq: int
    idx: int
    device: str
    reader: str
    antenna: int
    rssi_dbm: float
    reads: int
    backfilled: bool = Field(description="older than the item's state when it arrived: history only")
    received_ns: int


class Item(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    epc: str
    states: list[ItemState] = Field(description="one per site that saw it, newest event first")
    history: list[ItemEvent] = Field(description="newest event first")


class Departure(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    site: str
    epc: str
    gtin: str
    serial: str
    sku: str | None
    zone: str
    ts_ns: int
    gateway: str
    seq: int
    idx: int
    reader: str
    backfilled: bool
    sale_matched: bool = Field(
        description="a sale of its SKU in the site within the departure window was matched to it"
    )
    sale_txn: str | None = Field(description="the matched sale as <sender>/<transaction id>")


@router.get("/zones", response_model=list[ZoneCount])
async def zones(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    site: Annotated[Name | None, Query(description="one site")] = None,
    zone: ZoneFilter = None,
    sku: SkuFilter = None,
) -> list[ZoneCount]:
    """Present items per site, zone and GTIN/SKU, beside the zone's newest snapshot; a
    ``sku`` the catalog does not have, or that has no GTIN, is refused (422)."""
    sites = principal.site_filter(site)
    try:
        found = await run_in_threadpool(
            lambda: page.slice(core.inventory_zones(sites=sites, zone=zone, sku=sku))
        )
    except InvalidValue as exc:
        raise query_problem(exc.field, str(exc)) from exc
    return [ZoneCount.model_validate(z) for z in found]


@router.get(
    "/items/{epc}", response_model=Item, responses={404: {"description": "no site has seen the item"}}
)
async def get_item(
    core: CoreDep,
    principal: PrincipalDep,
    epc: Epc,
    site: Annotated[Name | None, Query(description="only this site")] = None,
    history: Annotated[int, Query(ge=1, le=1000, description="history rows at most")] = 100,
) -> Item:
    """The item's state in every site that saw it (of the caller's stores), and its history."""
    sites = principal.site_filter(site)
    found = await run_in_threadpool(
        lambda: core.inventory_item(epc.upper(), site=site, sites=sites, history_limit=history)
    )
    return Item.model_validate(found)


@router.get("/departures", response_model=list[Departure])
async def departures(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    site: Annotated[Name | None, Query(description="one site")] = None,
    since: Annotated[str | None, Query(description=f"event time at or after: {_TIME}")] = None,
    until: Annotated[str | None, Query(description=f"event time before: {_TIME}")] = None,
) -> list[Departure]:
    """Items departed from a door zone, newest event first; each says whether a sale of its
    SKU was matched to it (sold) or not (unsold: a shrink signal)."""
    since_ns = parse_time("since", since) if since is not None else None
    until_ns = parse_time("until", until) if until is not None else None
    if since_ns is not None and until_ns is not None and since_ns >= until_ns:
        raise query_problem("until", "since must be before until")
    sites = principal.site_filter(site)
    found = await run_in_threadpool(
        lambda: page.rows(
            lambda limit, offset: core.inventory_departures(
                sites=sites, since_ns=since_ns, until_ns=until_ns, limit=limit, offset=offset
            )
        )
    )
    return [Departure.model_validate(d) for d in found]
