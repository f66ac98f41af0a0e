"""GET /events: the device events the BOH core applied (picks, putbacks, local alarms).

Filters are strict like every filter of the API: an unknown one, or one given twice, is
refused (422); ``kind`` takes only the kinds the contract registers.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict

from bohsense.contracts.events import EVENT_KINDS

from .._common import ApiModel, GatewayName, Name, parse_time, query_problem
from .._deps import CoreDep
from .._identity import PrincipalDep
from .._paging import PageDep

router = APIRouter(tags=["events"])

#: the registered event kinds (``contracts.events.EVENT_KINDS``)
EventKindName = enum.StrEnum("EventKindName", {k.name.replace(".", "_"): k.name for k in EVENT_KINDS})  # type: ignore[misc]

_TIME = "ISO 8601 with timezone, or integer ns since the epoch"


class DeviceEvent(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    gateway: str
    seq: int
    idx: int
    device: str
    kind: str
    ts_ns: int
    attrs: dict[str, Any]
    received_ns: int


@router.get("/events", response_model=list[DeviceEvent])
async def events(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    kind: Annotated[EventKindName | None, Query(description="only events of this kind")] = None,
    device: Name | None = None,
    gateway: GatewayName | None = None,
    site: Annotated[Name | None, Query(description="only events of this site's gateways")] = None,
    since: Annotated[str | None, Query(description=f"event time at or after: {_TIME}")] = None,
    until: Annotated[str | None, Query(description=f"event time before: {_TIME}")] = None,
) -> list[DeviceEvent]:
    """Newest event time first."""
    since_ns = parse_time("since", since) if since is not None else None
    until_ns = parse_time("until", until) if until is not None else None
    if since_ns is not None and until_ns is not None and since_ns >= until_ns:
        raise query_problem("until", "since must be before until")
    sites = principal.site_filter(site)
    found = await run_in_threadpool(
        lambda: page.rows(
            lambda limit, offset: core.list_events(
                kind=None if kind is None else str(kind.value),
                device=device,
                gateway=gateway,
                sites=sites,
                since_ns=since_ns,
                until_ns=until_ns,
                limit=limit,
                offset=offset,
            )
        )
    )
    return [DeviceEvent.model_validate(e) for e in found]
