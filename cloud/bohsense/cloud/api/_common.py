"""Shared HTTP-boundary pieces: paging, lifecycle state filters, transition bodies, time params."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field

from bohsense.contracts.timeutil import from_datetime

from ..boh import Lifecycle

__all__ = ["ActionBody", "Limit", "Offset", "RequestModel", "check_state", "parse_time"]

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, description="rows to skip")]


class RequestModel(BaseModel):
    """Base of every request body: a field the API does not know is refused (422), not dropped."""

    model_config = ConfigDict(extra="forbid")


class ActionBody(RequestModel):
    actor: str = Field(
        default="api", min_length=1, max_length=64, description="who acts (recorded in the audit log)"
    )
    note: str = Field(default="", max_length=2000)


def check_state(lifecycle: Lifecycle, state: str | None) -> str | None:
    if state is not None and state not in lifecycle.states:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown {lifecycle.entity} state {state!r}; one of {sorted(lifecycle.states)}",
        )
    return state


_INT = re.compile(r"^-?\d+$")


def parse_time(name: str, value: str) -> int:
    """ISO 8601 with a timezone (``2024-05-01T12:00:00Z``) or integer ns since the epoch."""
    if _INT.match(value):
        ns = int(value)
    else:
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"{name}: {value!r} is neither ISO 8601 nor integer nanoseconds since the epoch",
            ) from None
        if dt.tzinfo is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: {value!r} has no timezone (add Z or +00:00)"
            )
        ns = from_datetime(dt)
    if not 0 <= ns < 2**63:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: {value!r} is out of range")
    return ns
