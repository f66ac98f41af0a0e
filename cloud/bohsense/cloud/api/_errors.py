"""One error model for every answer that is not a success: RFC 9457 problem details.

Every 4xx/5xx body is a ``Problem`` served as ``application/problem+json``: ``type``, a
stable URI naming the kind of error (``PROBLEM_TYPES``; a client branches on it, never on
the wording), ``title`` (the kind, for people), ``status``, ``detail`` (what is wrong
with this request, in one sentence), ``instance`` (the path asked for) and ``errors``,
one entry per offending field (empty when the error is not about a field). An invalid
transition adds ``current``, ``to`` and ``allowed`` (``TransitionProblem``); a refused
change of state adds ``current`` and ``reason`` (``ConflictProblem``); a value the domain
refuses adds ``field`` and ``reason`` — each a superset, so a client reading ``Problem``
reads it too. An unhandled error is a 500 ``internal`` problem that names nothing of the
server's internals (the traceback goes to the log).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..boh import CatalogError, InvalidTransition, InvalidValue, NotFound, StateConflict
from ..errors import CloudError

__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_TYPES",
    "ApiProblem",
    "ConflictProblem",
    "Error",
    "FieldError",
    "Problem",
    "TransitionProblem",
    "ValueProblem",
    "error_response",
    "install_error_handlers",
    "problem_type",
]

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://bohsense.dev/problems/"

#: kind -> title; the type URI is PROBLEM_BASE + kind. The list docs/api.md documents.
PROBLEM_TYPES: dict[str, str] = {
    "validation": "Invalid request",
    "malformed-body": "Body cannot be parsed",
    "unauthorized": "Not authenticated",
    "forbidden": "Not allowed",
    "token-expired": "Token expired",
    "token-invalid": "Token not valid",
    "key-revoked": "API key revoked or expired",
    "insufficient-role": "Role not allowed",
    "out-of-scope": "Store outside the caller's stores",
    "too-many-requests": "Too many requests",
    "not-found": "No such resource",
    "method-not-allowed": "Method not allowed",
    "not-acceptable": "Not acceptable",
    "invalid-transition": "Invalid state transition",
    "state-conflict": "Refused in the current state",
    "conflict": "Conflict",
    "body-too-large": "Body over the size limit",
    "unsupported-media-type": "Unsupported media type",
    "value-refused": "Value refused",
    "invalid-catalog": "Invalid catalog entry",
    "invalid-cursor": "Invalid cursor",
    "internal": "Internal server error",
    "unavailable": "Service unavailable",
    "http-error": "HTTP error",
}

#: the kind an HTTPException of a status is, when it names none itself
_BY_STATUS: dict[int, str] = {
    400: "malformed-body",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "body-too-large",
    415: "unsupported-media-type",
    429: "too-many-requests",
    422: "validation",
    500: "internal",
    503: "unavailable",
}


def problem_type(kind: str) -> str:
    if kind not in PROBLEM_TYPES:
        raise ValueError(f"unknown problem kind {kind!r}")
    return PROBLEM_BASE + kind


_EXAMPLE_TYPE = problem_type("validation")


class FieldError(BaseModel):
    """One offending field of a request."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"loc": ["query", "limit"], "msg": "too large", "type": "less_than_equal"}]
        }
    )
    loc: list[str | int] = Field(description="where: ['query', 'limit'], ['body', 'args', 'key'], …")
    msg: str = Field(description="what is wrong with it")
    type: str = Field(description="the kind of fault: missing, int_parsing, extra_forbidden, …")


class Problem(BaseModel):
    """An RFC 9457 problem: the body of every 4xx and 5xx answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": _EXAMPLE_TYPE,
                    "title": "Invalid request",
                    "status": 422,
                    "detail": "query.limit: Input should be less than or equal to 1000",
                    "instance": "/api/v1/alerts",
                    "errors": [{"loc": ["query", "limit"], "msg": "too large", "type": "less_than_equal"}],
                }
            ]
        }
    )
    type: str = Field(
        description="a URI naming the kind of error, stable: https://bohsense.dev/problems/<kind>"
    )
    title: str = Field(description="the kind of error, for people")
    status: int = Field(ge=400, le=599, description="the HTTP status code")
    detail: str = Field(description="what is wrong with this request, in one sentence")
    instance: str = Field(description="the path of the request")
    errors: list[FieldError] = Field(default=[], description="one entry per offending field")


#: the earlier name of the one error shape
Error = Problem


class TransitionProblem(Problem):
    """A transition the entity's lifecycle does not allow from its current state."""

    current: str = Field(description="the state the entity is in")
    to: str = Field(description="the state asked for")
    allowed: list[str] = Field(description="the states it may move to from here")


class ConflictProblem(Problem):
    """A change of state refused in the entity's current state."""

    current: str = Field(description="the state the entity is in")
    reason: str = Field(description="short and sortable: condition-active, final, …")


class ValueProblem(Problem):
    """A value the domain refuses."""

    field: str = Field(description="the body field refused")
    reason: str = Field(description="why")


class ApiProblem(CloudError):
    """Raised by the API's own code: a problem of a named kind, with its field errors."""

    def __init__(
        self,
        status_code: int,
        kind: str,
        detail: str,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        problem_type(kind)  # a typo in a kind fails here, not in a client
        self.status_code, self.kind, self.detail = status_code, kind, detail
        self.errors, self.headers = list(errors), headers


def error_response(
    status_code: int,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
    *,
    kind: str | None = None,
    instance: str = "",
    **extra: Any,
) -> JSONResponse:
    kind = kind or _BY_STATUS.get(status_code, "http-error")
    body = {
        "type": problem_type(kind),
        "title": PROBLEM_TYPES[kind],
        "status": status_code,
        "detail": detail,
        "instance": instance,
        "errors": [e.model_dump() for e in errors],
        **extra,
    }
    return JSONResponse(
        body, status_code=status_code, headers=dict(headers) if headers else None, media_type=PROBLEM_JSON
    )


def _loc(parts: Sequence[Any]) -> str:
    return ".".join(str(p) for p in parts)


def _instance(request: Request) -> str:
    return request.url.path


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(
            loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            msg=str(e.get("msg", "")),
            type=str(e.get("type", "")),
        )
        for e in exc.errors()
    ]
    # a body that is not JSON at all is not a field's fault: 422 still, as FastAPI has it
    detail = "; ".join(f"{_loc(e.loc)}: {e.msg}" for e in errors) or "invalid request"
    return error_response(
        status.HTTP_422_UNPROCESSABLE_CONTENT, detail, errors, kind="validation", instance=_instance(request)
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.url.path}"
    elif exc.status_code == 405 and detail == "Method Not Allowed":
        detail = f"{request.method} is not allowed on {request.url.path}"
    return error_response(exc.status_code, detail, headers=exc.headers, instance=_instance(request))


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return error_response(
        exc.status_code, exc.detail, exc.errors, exc.headers, kind=exc.kind, instance=_instance(request)
    )


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return error_response(status.HTTP_404_NOT_FOUND, str(exc), kind="not-found", instance=_instance(request))


async def _invalid_transition(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidTransition)
    return error_response(
        status.HTTP_409_CONFLICT,
        str(exc),
        kind="invalid-transition",
        instance=_instance(request),
        current=exc.current,
        to=exc.to,
        allowed=sorted(exc.allowed),
    )


async def _state_conflict(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StateConflict)
    return error_response(
        status.HTTP_409_CONFLICT,
        str(exc),
        kind="state-conflict",
        instance=_instance(request),
        current=exc.state,
        reason=exc.reason,
    )


async def _invalid_value(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidValue)
    errors = [FieldError(loc=["body", exc.field], msg=exc.reason, type="value_error")]
    return error_response(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        str(exc),
        errors,
        kind="value-refused",
        instance=_instance(request),
        field=exc.field,
        reason=exc.reason,
    )


async def _catalog_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(
        status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc), kind="invalid-catalog", instance=_instance(request)
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # the traceback is for the operator's log; the client learns only that it failed
    log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        status.HTTP_500_INTERNAL_SERVER_ERROR,
        "the server failed to answer this request; the failure is logged",
        kind="internal",
        instance=_instance(request),
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ApiProblem, _problem)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(InvalidTransition, _invalid_transition)
    app.add_exception_handler(StateConflict, _state_conflict)
    app.add_exception_handler(InvalidValue, _invalid_value)
    app.add_exception_handler(CatalogError, _catalog_error)
    app.add_exception_handler(Exception, _unhandled)
