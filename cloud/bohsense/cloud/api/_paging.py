"""Cursor pagination, the same on every list: ``limit`` (1–1000, 100 by default) and an
opaque ``cursor``; the body stays a JSON array and the next page, when there is one, is
named by an RFC 8288 ``Link: <…?cursor=…>; rel="next"`` header (a relative reference,
so it holds behind a proxy). No ``Link`` header: this is the last page.

A cursor is bound to the filters it was made under: the same path with other filters
(``sort`` included) refuses it (422 ``invalid-cursor``), so a page never mixes two
queries. ``limit`` may change from page to page. A cursor is not a secret (it holds a
position), only opaque: clients pass it back as it is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response, status

from ._common import INT32_MAX
from ._errors import ApiProblem, FieldError

__all__ = ["LINK_HEADER", "Page", "PageDep", "check_sort", "sort_query", "sorted_rows"]

T = TypeVar("T")

_UNBOUND = ("cursor", "limit")

LINK_HEADER = {
    "Link": {
        "description": 'the next page, when there is one: `<path?…&cursor=…>; rel="next"` (RFC 8288)',
        "schema": {"type": "string"},
    }
}


def _fingerprint(request: Request) -> str:
    pairs = sorted((k, v) for k, v in request.query_params.multi_items() if k not in _UNBOUND)
    return hashlib.sha256(f"{request.url.path}?{urlencode(pairs)}".encode()).hexdigest()[:12]


def _bad(detail: str) -> ApiProblem:
    return ApiProblem(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "invalid-cursor",
        detail,
        [FieldError(loc=["query", "cursor"], msg=detail, type="invalid_cursor")],
    )


def _decode(cursor: str, fingerprint: str) -> int:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise _bad("the cursor is not one this API made; pass back the one of a Link header") from None
    if not isinstance(raw, dict) or set(raw) != {"o", "q"}:
        raise _bad("the cursor is not one this API made; pass back the one of a Link header")
    offset = raw["o"]
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 < offset <= INT32_MAX:
        raise _bad("the cursor is not one this API made; pass back the one of a Link header")
    if raw["q"] != fingerprint:
        raise _bad("the cursor belongs to other filters or another list; start again without it")
    return offset


def _encode(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Page:
    """One page of a list: where it starts, how long it is, and the ``Link`` to the next."""

    def __init__(self, request: Request, response: Response, limit: int, cursor: str | None) -> None:
        self.request, self.response, self.limit = request, response, limit
        self.fingerprint = _fingerprint(request)
        self.offset = 0 if cursor is None else _decode(cursor, self.fingerprint)

    def _cut(self, rows: Sequence[T]) -> list[T]:
        if len(rows) > self.limit:
            nxt = _encode(self.offset + self.limit, self.fingerprint)
            pairs = [(k, v) for k, v in self.request.query_params.multi_items() if k != "cursor"]
            query = urlencode([*pairs, ("cursor", nxt)])
            self.response.headers["Link"] = f'<{self.request.url.path}?{query}>; rel="next"'
        return list(rows[: self.limit])

    @property
    def seek(self) -> dict[str, int]:
        """``limit`` and ``offset`` for a core list that seeks: one row over, to see if more follow."""
        return {"limit": self.limit + 1, "offset": self.offset}

    def cut(self, rows: Sequence[T]) -> list[T]:
        """The page of rows read with ``seek``."""
        return self._cut(rows)

    def rows(self, fetch: Callable[[int, int], Sequence[T]]) -> list[T]:
        """From a query that seeks: ``fetch(limit, offset)``."""
        return self._cut(fetch(self.limit + 1, self.offset))

    def slice(self, items: Sequence[T]) -> list[T]:
        """From a list read whole."""
        return self._cut(items[self.offset : self.offset + self.limit + 1])


async def _page(
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size (1–1000)")] = 100,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=256,
            pattern=r"^[A-Za-z0-9_-]+$",
            description='the next page: the cursor of the previous answer\'s `Link: <…>; rel="next"` header',
        ),
    ] = None,
) -> Page:
    return Page(request, response, limit, cursor)


PageDep = Annotated[Page, Depends(_page)]


def sort_query(fields: Sequence[str], default: str) -> Any:
    """The ``sort`` parameter of a list read whole: a field, ``-`` first for descending."""
    values = [v for f in fields for v in (f, f"-{f}")]
    return Query(
        description=f"order by a field, `-` first for descending (default `{default}`); "
        "nulls last either way, ties in the list's own order",
        json_schema_extra={"enum": values},
    )


def check_sort(sort: str | None, fields: Sequence[str]) -> None:
    allowed = [v for f in fields for v in (f, f"-{f}")]
    if sort is not None and sort not in allowed:
        raise ApiProblem(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "validation",
            f"sort: {sort!r} is not one of {allowed}",
            [FieldError(loc=["query", "sort"], msg=f"one of {allowed}", type="enum")],
        )


def sorted_rows(rows: Sequence[T], sort: str | None, key: Callable[[T, str], Any]) -> list[T]:
    """``rows`` ordered by ``sort`` (``field`` or ``-field``), nulls last; unsorted: as they are."""
    if sort is None:
        return list(rows)
    field = sort.removeprefix("-")
    present = [r for r in rows if key(r, field) is not None]
    absent = [r for r in rows if key(r, field) is None]
    present.sort(key=lambda r: key(r, field), reverse=sort.startswith("-"))
    return present + absent
