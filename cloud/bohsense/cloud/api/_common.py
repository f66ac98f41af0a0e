"""Shared HTTP-boundary pieces: paging, lifecycle state filters, transition bodies, time params."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Self

from fastapi import Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field, model_validator

from bohsense.contracts.timeutil import from_datetime

from ..boh import Lifecycle
from ._errors import ApiProblem, FieldError

__all__ = [
    "INT32_MAX",
    "ActionBody",
    "ApiModel",
    "Id",
    "Limit",
    "Name",
    "Offset",
    "RequestModel",
    "check_state",
    "iso_time",
    "parse_time",
    "query_problem",
    "state_filter",
]

#: the largest row id and row offset every BOH database holds: ids are INTEGER columns,
#: 32-bit on PostgreSQL, and SQLAlchemy binds OFFSET as INTEGER there too
INT32_MAX = 2**31 - 1

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=INT32_MAX, description="rows to skip")]
#: a numeric row id in a path, or in a filter (ids start at 1; beyond the column: 422)
Id = Annotated[int, Path(ge=1, le=INT32_MAX)]
IdFilter = Annotated[int | None, Query(ge=1, le=INT32_MAX)]
#: a gateway / device / metric / site / … name in a path or filter: the contract's name
#: length, no control characters (PostgreSQL text cannot hold NUL)
Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
#: a gateway id as the contract has it (it is part of every topic of the gateway)
GatewayName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
]


def _nul_in(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, BaseModel):
        value = {k: getattr(value, k) for k in type(value).model_fields}
    if isinstance(value, dict):
        for k, v in value.items():
            found = _nul_in(k, f"{where}.{k}") or _nul_in(v, f"{where}.{k}")
            if found:
                return found
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = _nul_in(v, f"{where}[{i}]")
            if found:
                return found
    return None


_NO_NUL = "^[^\\x00]*$"


def _document_no_nul(schema: Any) -> None:
    """Every text of a request body, in its JSON schema: no NUL (the pattern), unless a
    pattern of its own already says what it may hold."""
    if isinstance(schema, dict):
        if schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema:
            schema["pattern"] = _NO_NUL
        for key in ("properties", "$defs"):
            for child in (schema.get(key) or {}).values():
                _document_no_nul(child)
        names = schema.get("propertyNames")
        if isinstance(names, dict) and "pattern" not in names:
            names["pattern"] = _NO_NUL  # keys are text too
        for key in ("items", "additionalProperties"):
            _document_no_nul(schema.get(key))
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            for child in schema.get(key) or []:
                _document_no_nul(child)


class RequestModel(BaseModel):
    """Base of every request body: a field the API does not know is refused (422), not
    dropped; a NUL character in any text is refused (PostgreSQL text cannot hold it), as
    its schema says."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_document_no_nul)

    @model_validator(mode="after")
    def _no_nul(self) -> Self:
        found = _nul_in(self, "body")
        if found:
            raise ValueError(f"{found} contains a NUL character")
        return self


class ActionBody(RequestModel):
    """The body of an action: a note for the audit log. Who acts is the caller (the
    request's principal), never a field of the body: ``actor`` is refused as unknown."""

    note: str = Field(default="", max_length=2000)


def state_filter(lifecycle: Lifecycle) -> Any:
    """The ``state`` query parameter of a list: documented as the lifecycle's states."""
    return Query(
        description=f"only {lifecycle.entity}s in this state",
        json_schema_extra={"enum": sorted(lifecycle.states)},
    )


def check_state(lifecycle: Lifecycle, state: str | None) -> str | None:
    if state is not None and state not in lifecycle.states:
        raise query_problem(
            "state", f"unknown {lifecycle.entity} state {state!r}; one of {sorted(lifecycle.states)}"
        )
    return state


def query_problem(name: str, detail: str, kind: str = "validation") -> ApiProblem:
    """A 422 problem about one query parameter, naming it in ``errors``."""
    return ApiProblem(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        kind,
        detail,
        [FieldError(loc=["query", name], msg=detail, type="value_error")],
    )


_INT = re.compile(r"^-?\d+$")


def parse_time(name: str, value: str) -> int:
    """ISO 8601 with a timezone (``2024-05-01T12:00:00Z``) or integer ns since the epoch."""
    if _INT.match(value):
        ns = int(value)
    else:
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise query_problem(
                name, f"{name}: {value!r} is neither ISO 8601 nor integer nanoseconds since the epoch"
            ) from None
        if dt.tzinfo is None:
            raise query_problem(name, f"{name}: {value!r} has no timezone (add Z or +00:00)")
        ns = from_datetime(dt)
    if not 0 <= ns < 2**63:
        raise query_problem(name, f"{name}: {value!r} is out of range")
    return ns


def iso_time(ns: int | None) -> str | None:
    """Integer ns since the epoch as ISO 8601 in UTC, to the microsecond (``…T12:00:00.000001Z``)."""
    if ns is None:
        return None
    seconds, rest = divmod(ns, 10**9)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{rest // 1000:06d}Z"


def time_twin(name: str) -> str:
    """The ISO 8601 field next to an integer-ns one: ``opened_ns`` -> ``opened_at``, ``at_ns``
    and a reading's ``ts`` -> ``at``."""
    if name == "ts":
        return "at"
    base = name.removesuffix("_ns")
    return "at" if base == "at" else f"{base}_at"


def _date_time(nullable: bool) -> Callable[[dict[str, Any]], None]:
    def extra(schema: dict[str, Any]) -> None:
        target = schema["anyOf"][0] if nullable and "anyOf" in schema else schema
        target["format"] = "date-time"

    return extra


class ApiModel(BaseModel):
    """Base of the answers: every integer-ns time ``<x>_ns`` (kept, as the wire contracts
    have it) comes with its ISO 8601 twin ``<x>_at`` (``at_ns`` and ``ts``: ``at``), in UTC."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, annotation in list(inspect.get_annotations(cls).items()):
            if not name.endswith("_ns") and name != "ts":
                continue
            nullable = "None" in str(annotation)

            def get(self: BaseModel, _name: str = name) -> str | None:
                return iso_time(getattr(self, _name))

            twin = computed_field(  # type: ignore[call-overload]
                property(get),
                return_type=str | None if nullable else str,
                description=f"`{name}` as ISO 8601 in UTC",
                json_schema_extra=_date_time(nullable),
            )
            setattr(cls, time_twin(name), twin)


def enum_field(values: Any, description: str) -> Any:
    """A text field of an answer that takes one of ``values``, documented as an enum."""
    return Field(description=description, json_schema_extra={"enum": sorted(values)})
