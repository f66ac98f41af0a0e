"""``create_app``: the HTTP API over a BOH core and a time-series store."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Depends, FastAPI, Request, status
from fastapi.responses import JSONResponse

from bohsense.contracts.schema import GatewayCommand

from ..boh import BohCore, CatalogError, InvalidTransition, InvalidValue, NotFound, StateConflict
from ..ports import TimeSeriesQuery
from ._deps import require_token
from .routers import (
    alerts,
    catalog,
    commands,
    fleet,
    health,
    readings,
    records,
    replenishment,
    stock,
    work_orders,
)

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"


def create_app(
    *,
    core: BohCore,
    tsdb: TimeSeriesQuery,
    stats: Callable[[], Mapping[str, Any]] | None = None,
    api_token: str | None = None,
    send_command: Callable[[GatewayCommand], None] | None = None,
) -> FastAPI:
    """Build the API. With ``api_token``, every route except ``/health`` needs ``Authorization: Bearer``."""
    if api_token is not None and not api_token.strip():
        raise ValueError("api_token must not be empty (pass None for an open API)")
    app = FastAPI(
        title="bohsense", version="1", summary="Stock, alerts, work orders and replenishment of stores"
    )
    app.state.core = core
    app.state.tsdb = tsdb
    app.state.stats = stats
    app.state.api_token = api_token
    app.state.send_command = send_command
    app.include_router(health.router, prefix=API_PREFIX)
    protected = [Depends(require_token)]
    for module in (fleet, catalog, commands, readings, stock, alerts, work_orders, replenishment, records):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=protected)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(InvalidTransition, _invalid_transition)
    app.add_exception_handler(InvalidValue, _invalid_value)
    app.add_exception_handler(StateConflict, _state_conflict)
    app.add_exception_handler(CatalogError, _catalog_error)
    return app


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)


async def _invalid_transition(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidTransition)
    return JSONResponse(
        {"detail": str(exc), "current": exc.current, "to": exc.to, "allowed": sorted(exc.allowed)},
        status_code=status.HTTP_409_CONFLICT,
    )


async def _invalid_value(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidValue)
    return JSONResponse(
        {"detail": str(exc), "field": exc.field, "reason": exc.reason},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _state_conflict(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StateConflict)
    return JSONResponse(
        {"detail": str(exc), "current": exc.state, "reason": exc.reason},
        status_code=status.HTTP_409_CONFLICT,
    )


async def _catalog_error(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
