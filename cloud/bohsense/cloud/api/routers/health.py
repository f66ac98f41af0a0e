"""Health probes (no token needed).

- ``GET /health``: database, time-series store, ingest counters and pipeline problems;
  ``ok`` is false (HTTP 503) when the database or the time-series store does not answer,
  or when the ingest pipeline reports a problem (``ingest_problems``: not subscribed, a
  message unacknowledged for too long, BOH calls failing for too long).
- ``GET /healthz``: liveness: 200 whenever the process serves requests (a probe that
  restarts on failure must not restart a service that is only waiting for a dependency).
- ``GET /readyz``: readiness: 200 when the database, the time-series store and the broker
  subscription all work, else 503 with the ones that do not in ``not_ready``.
- ``GET /version``: the installed bohsense distributions and the API version.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from .._common import ApiModel
from .._deps import CoreDep, StatsDep, TsdbDep

router = APIRouter(tags=["health"])

PROBE_DEVICE = "__bohsense_health__"


class Health(ApiModel):
    ok: bool
    db: bool
    tsdb: bool
    tsdb_error: str | None = None
    ingest: dict[str, Any] = Field(default_factory=dict)
    ingest_problems: list[str] = Field(default_factory=list)


class Liveness(ApiModel):
    alive: bool = True


class Readiness(ApiModel):
    ready: bool
    checks: dict[str, bool]
    not_ready: list[str]


class Version(ApiModel):
    api: str
    distributions: dict[str, str]


@router.get("/healthz", response_model=Liveness, summary="Liveness: the process serves requests")
async def healthz() -> Liveness:
    return Liveness()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness}},
    summary="Readiness: database, time-series store and broker subscription",
)
async def readyz(core: CoreDep, tsdb: TsdbDep, stats: StatsDep, response: Response) -> Readiness:
    db_ok = await run_in_threadpool(core.ping)
    try:
        await tsdb.latest(device=PROBE_DEVICE)
        tsdb_ok = True
    except Exception:  # readiness says which, /health says why
        tsdb_ok = False
    ingest = dict(stats()) if stats is not None else {}
    checks = {"database": db_ok, "tsdb": tsdb_ok}
    if stats is not None:
        checks["broker"] = bool(ingest.get("subscribed", False))
    not_ready = sorted(name for name, ok in checks.items() if not ok)
    if not_ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(ready=not not_ready, checks=checks, not_ready=not_ready)


@router.get("/version", response_model=Version, summary="Installed versions")
async def version() -> Version:
    from bohsense.cli import versions

    return Version(api="1", distributions=versions())


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
