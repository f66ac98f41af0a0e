"""GET /readings/latest and /readings/series, answered by the time-series store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict

from .._common import parse_time
from .._deps import TsdbDep

router = APIRouter(prefix="/readings", tags=["readings"])

NS = 1_000_000_000
#: the widest raw (un-aggregated) range one request may ask for
MAX_RAW_RANGE_S = 24 * 3600
#: the widest aggregated range, and the most windows it may produce
MAX_RANGE_S = 31 * 24 * 3600
MAX_WINDOWS = 10_000


class LatestPoint(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    gateway: str
    device: str
    metric: str
    ts: int
    value: float


class Series(BaseModel):
    device: str
    metric: str
    start_ns: int
    end_ns: int
    every_s: int | None
    points: list[tuple[int, float]]


@router.get("/latest", response_model=list[LatestPoint])
async def latest(
    tsdb: TsdbDep, gateway: str | None = None, device: str | None = None, metric: str | None = None
) -> list[LatestPoint]:
    points = await tsdb.latest(gateway=gateway, device=device, metric=metric)
    return [LatestPoint.model_validate(p) for p in points]


@router.get("/series", response_model=Series)
async def series(
    tsdb: TsdbDep,
    device: Annotated[str, Query(min_length=1)],
    metric: Annotated[str, Query(min_length=1)],
    start: Annotated[str, Query(description="ISO 8601 with timezone, or integer ns since the epoch")],
    end: Annotated[
        str, Query(description="ISO 8601 with timezone, or integer ns since the epoch (exclusive)")
    ],
    every: Annotated[
        int | None, Query(ge=1, le=MAX_RANGE_S, description="mean per window of this many s")
    ] = None,
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
    points = await tsdb.series(device=device, metric=metric, start_ns=start_ns, end_ns=end_ns, every_s=every)
    return Series(
        device=device, metric=metric, start_ns=start_ns, end_ns=end_ns, every_s=every, points=points
    )
