"""One error shape for every answer that is not a success, and the handlers that make it.

Every 4xx/5xx body is an ``Error``: a ``detail`` sentence saying what is wrong, and
``errors``, one entry per offending field (empty when the error is not about a field).
An invalid transition adds ``current``, ``to`` and ``allowed`` (``TransitionError``); a
refused change of state adds ``current`` and ``reason`` (``ConflictError``); a value the
domain refuses adds ``field`` and ``reason`` — each a superset, so a client reading
``Error`` reads it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..boh import CatalogError, InvalidTransition, InvalidValue, NotFound, StateConflict

__all__ = [
    "ConflictError",
    "Error",
    "FieldError",
    "TransitionError",
    "ValueRefused",
    "error_response",
    "install_error_handlers",
]


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="where: ['query', 'offset'], ['body', 'args', 'key'], …")
    msg: str
    type: str


class Error(BaseModel):
    detail: str = Field(description="what is wrong, in one sentence")
    errors: list[FieldError] = Field(default=[], description="one entry per offending field")


class TransitionError(Error):
    current: str
    to: str
    allowed: list[str]


class ConflictError(Error):
    current: str = Field(description="the state the entity is in")
    reason: str = Field(description="short and sortable: condition-active, final, …")


class ValueRefused(Error):
    field: str
    reason: str


def error_response(
    status_code: int,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"detail": detail, "errors": [e.model_dump() for e in errors], **extra}
    return JSONResponse(body, status_code=status_code, headers=dict(headers) if headers else None)


def _loc(parts: Sequence[Any]) -> str:
    return ".".join(str(p) for p in parts)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(
            loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            msg=str(e.get("msg", "")),
            type=str(e.get("type", "")),
        )
        for e in exc.errors()
    ]
    detail = "; ".join(f"{_loc(e.loc)}: {e.msg}" for e in errors) or "invalid request"
    return error_response(status.HTTP_422_UNPROCESSABLE_CONTENT, detail, errors)


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return error_response(exc.status_code, detail, headers=exc.headers)


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return error_response(status.HTTP_404_NOT_FOUND, str(exc))


async def _invalid_transition(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidTransition)
    return error_response(
        status.HTTP_409_CONFLICT, str(exc), current=exc.current, to=exc.to, allowed=sorted(exc.allowed)
    )


async def _state_conflict(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StateConflict)
    return error_response(status.HTTP_409_CONFLICT, str(exc), current=exc.state, reason=exc.reason)


async def _invalid_value(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidValue)
    errors = [FieldError(loc=["body", exc.field], msg=exc.reason, type="value_error")]
    return error_response(
        status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc), errors, field=exc.field, reason=exc.reason
    )


async def _catalog_error(_request: Request, exc: Exception) -> JSONResponse:
    return error_response(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(InvalidTransition, _invalid_transition)
    app.add_exception_handler(StateConflict, _state_conflict)
    app.add_exception_handler(InvalidValue, _invalid_value)
    app.add_exception_handler(CatalogError, _catalog_error)
