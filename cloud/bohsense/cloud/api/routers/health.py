"""GET /health: database, time-series store, ingest counters and pipeline problems (no token needed).

``ok`` is false (HTTP 503) when the database or the time-series store does not answer, or
when the ingest pipeline reports a problem (``ingest_problems``: not subscribed, a message
unacknowledged for too long, BOH calls failing for too long).
"""

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
    ingest_problems: list[str] = []


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(core: CoreDep, tsdb: TsdbDep, stats: StatsDep, response: Response) -> Health:
    db_ok = await run_in_threadpool(core.ping)
    tsdb_error = None
    try:
        await tsdb.latest(device=PROBE_DEVICE)
    except Exception as exc:  # reported in the answer, not swallowed
        tsdb_error = f"{type(exc).__name__}: {exc}"
    ingest = dict(stats()) if stats is not None else {}
    problems = [str(p) for p in ingest.get("problems", [])]
    result = Health(
        ok=db_ok and tsdb_error is None and not problems,
        db=db_ok,
        tsdb=tsdb_error is None,
        tsdb_error=tsdb_error,
        ingest=ingest,
        ingest_problems=problems,
    )
    if not result.ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return result
