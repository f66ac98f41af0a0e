"""GET /changes: the domain events after a cursor, in id order.

A reader keeps the ``next_after`` of each answer and asks again with it; it sees every
committed change once, in order. Only committed events are returned, and their ids become
visible in commit order (``boh._domain_events``: on PostgreSQL the ids are taken at
commit under an advisory lock), so a cursor never skips an event that commits later.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict, Field

from .._common import INT32_MAX, ApiModel, Limit
from .._deps import CoreDep
from .._identity import PrincipalDep

router = APIRouter(tags=["records"])

After = Annotated[int, Query(ge=0, le=INT32_MAX, description="the cursor: events with a larger id")]


class Change(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: int = Field(description="the cursor: increases with every committed event")
    kind: str = Field(description="alert.opened, work_order.in_progress, command.expired, …")
    entity: str
    entity_id: str
    from_state: str | None
    to_state: str
    actor: str
    at_ns: int
    detail: dict[str, Any]


class ChangesPage(ApiModel):
    events: list[Change] = Field(description="committed domain events with id > after, oldest first")
    next_after: int = Field(description="pass as after to read on (the last id here, or after)")


@router.get("/changes", response_model=ChangesPage)
async def changes(
    core: CoreDep, principal: PrincipalDep, after: After = 0, limit: Limit = 100
) -> ChangesPage:
    """A caller scoped to some stores reads the events about those stores only (each event
    is placed in a store by what it is about); events about no store (a SKU, a setting)
    are read by callers who see every store."""
    page = await run_in_threadpool(core.changes, after=after, limit=limit, sites=principal.sites)
    return ChangesPage(events=[Change.model_validate(e) for e in page.events], next_after=page.next_after)
