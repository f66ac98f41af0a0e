"""CSV exports of a period: ``GET …/export.csv?from=&to=`` on stock, alerts, work orders
and proposals (docs/api.md).

A row is the list's JSON answer flattened: one column per field in the schema's order
(the ISO 8601 twins of the ns times included), a nested object or list as compact JSON,
null as an empty cell. ``from`` and ``to`` are ISO 8601 with a timezone or integer ns;
each may be left out (an open end). What "in the period" means is said per export.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query, Response
from pydantic import BaseModel

from ..boh import Lifecycle
from ._common import parse_time, query_problem

__all__ = ["CSV", "PAGE", "Period", "PeriodFrom", "PeriodTo", "csv_response", "every", "in_lifetime"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

CSV = "text/csv; charset=utf-8"
#: rows read from the core per query while exporting
PAGE = 1000
_TIME = "ISO 8601 with a timezone (2026-05-01T00:00:00Z) or integer ns since the epoch"

PeriodFrom = Annotated[str | None, Query(alias="from", description=f"the period's start (included): {_TIME}")]
PeriodTo = Annotated[str | None, Query(alias="to", description=f"the period's end (excluded): {_TIME}")]

#: the OpenAPI answer of an export
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the rows as CSV with a header line",
        "content": {"text/csv": {"schema": {"type": "string"}, "example": "id,state\n1,open\n"}},
    }
}


class Period:
    """``[start, end)`` in ns; either end open (None)."""

    def __init__(self, since: str | None, until: str | None) -> None:
        self.start = parse_time("from", since) if since is not None else None
        self.end = parse_time("to", until) if until is not None else None
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise query_problem("to", "to must be after from")

    def holds(self, ns: int | None) -> bool:
        if ns is None:
            return False
        return (self.start is None or ns >= self.start) and (self.end is None or ns < self.end)


def in_lifetime(period: Period, lifecycle: Lifecycle, created_ns: int, updated_ns: int, state: str) -> bool:
    """Whether an entity lived in the period: created before its end, and still open or
    last changed at or after its start."""
    if period.end is not None and created_ns >= period.end:
        return False
    return period.start is None or state in lifecycle.open or updated_ns >= period.start


def every(fetch: Callable[[int, int], Sequence[T]]) -> Iterable[T]:
    """Every row of a core list, read ``PAGE`` at a time."""
    offset = 0
    while True:
        rows = fetch(PAGE, offset)
        yield from rows
        if len(rows) < PAGE:
            return
        offset += PAGE


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return value


def csv_response(model: type[M], rows: Iterable[M], filename: str) -> Response:
    columns = list(model.model_json_schema(mode="serialization")["properties"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        data = row.model_dump(mode="json")
        writer.writerow([_cell(data.get(c)) for c in columns])
    return Response(
        out.getvalue(),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
