"""GET /health: database, time-series store and ingest counters (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from .._deps import CoreDep, StatsDep, TsdbDep

router = APIRouter(tags=["health"])

PROBE_DEVICE = "__bohsense_health__"


class Health(BaseModel):
    ok: bool
    db: bool
    tsdb: bool
    tsdb_error: str | None = None
    ingest: dict[str, Any] = {}


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(core: CoreDep, tsdb: TsdbDep, stats: StatsDep, response: Response) -> Health:
    db_ok = await run_in_threadpool(core.ping)
    tsdb_error = None
    try:
        await tsdb.latest(device=PROBE_DEVICE)
    except Exception as exc:  # reported in the answer, not swallowed
        tsdb_error = f"{type(exc).__name__}: {exc}"
    result = Health(
        ok=db_ok and tsdb_error is None,
        db=db_ok,
        tsdb=tsdb_error is None,
        tsdb_error=tsdb_error,
        ingest=dict(stats()) if stats is not None else {},
    )
    if not result.ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return result
