"""Typed dependencies of the routers: the BOH core, the time-series query, stats, auth."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..boh import BohCore
from ..ports import TimeSeriesQuery

__all__ = ["CoreDep", "StatsDep", "TsdbDep", "get_core", "get_stats", "get_tsdb", "require_token"]


def get_core(request: Request) -> BohCore:
    core: BohCore = request.app.state.core
    return core


def get_tsdb(request: Request) -> TimeSeriesQuery:
    tsdb: TimeSeriesQuery = request.app.state.tsdb
    return tsdb


def get_stats(request: Request) -> Callable[[], Mapping[str, Any]] | None:
    stats: Callable[[], Mapping[str, Any]] | None = request.app.state.stats
    return stats


CoreDep = Annotated[BohCore, Depends(get_core)]
TsdbDep = Annotated[TimeSeriesQuery, Depends(get_tsdb)]
StatsDep = Annotated[Callable[[], Mapping[str, Any]] | None, Depends(get_stats)]

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <token>` when the API has a token")


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Reject the request unless it carries the API token (when one is configured)."""
    token: str | None = request.app.state.api_token
    if token is None:
        return
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    if not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid token", headers={"WWW-Authenticate": "Bearer"}
        )
