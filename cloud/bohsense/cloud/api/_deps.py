"""Typed dependencies of the routers: the BOH core, the time-series query, stats, auth."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Request

from ..boh import BohCore
from ..ports import TimeSeriesQuery

__all__ = ["CoreDep", "StatsDep", "TsdbDep", "get_core", "get_stats", "get_tsdb", "require_token"]


async def get_core(request: Request) -> BohCore:
    core: BohCore = request.app.state.core
    return core


async def get_tsdb(request: Request) -> TimeSeriesQuery:
    tsdb: TimeSeriesQuery = request.app.state.tsdb
    return tsdb


async def get_stats(request: Request) -> Callable[[], Mapping[str, Any]] | None:
    stats: Callable[[], Mapping[str, Any]] | None = request.app.state.stats
    return stats


CoreDep = Annotated[BohCore, Depends(get_core)]
TsdbDep = Annotated[TimeSeriesQuery, Depends(get_tsdb)]
StatsDep = Annotated[Callable[[], Mapping[str, Any]] | None, Depends(get_stats)]


async def require_token(request: Request) -> None:
    """Authenticate and authorize the request (``_auth.guard``: every route has it)."""
    from ._auth import guard

    await guard(request)
