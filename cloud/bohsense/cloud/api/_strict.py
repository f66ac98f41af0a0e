"""Unknown and repeated query parameters are refused (422, with the reason), never
silently ignored: a misspelt or unsupported filter would otherwise widen the answer
(``/readings/series?gatway=…`` answering for every store), and of ``?site=a&site=b``
only the last would count.

FastAPI's ``APIRoute.dependant`` tree is read here and only here.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Collection

from fastapi import Request, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from ._errors import ApiProblem, FieldError

__all__ = ["reject_unknown_query"]

_SEQUENCES = (list, tuple, set, frozenset, Collection)


def _takes_many(annotation: object) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_takes_many(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _takes_many(typing.get_args(annotation)[0])
    return origin in _SEQUENCES or annotation in _SEQUENCES


def _query_names(dependant: Dependant, names: dict[str, bool]) -> dict[str, bool]:
    """name -> whether it may be repeated (a list parameter)."""
    for p in dependant.query_params:
        names[p.alias] = _takes_many(p.field_info.annotation)
    for sub in dependant.dependencies:
        _query_names(sub, names)
    return names


async def reject_unknown_query(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _query_names(route.dependant, {})  # a few params: cheap to walk
    params = request.query_params
    unknown = sorted(set(params.keys()) - set(allowed))
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        names = ", ".join(repr(u) for u in unknown)
        raise ApiProblem(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "validation",
            f"unknown query parameter{'s' if len(unknown) > 1 else ''} {names}; this endpoint takes {takes}",
            [
                FieldError(loc=["query", u], msg="unknown query parameter", type="extra_forbidden")
                for u in unknown
            ],
        )
    repeated = sorted(n for n in params if not allowed[n] and len(params.getlist(n)) > 1)
    if repeated:
        raise ApiProblem(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "validation",
            f"query parameter {', '.join(repr(r) for r in repeated)} given more than once; give it once",
            [FieldError(loc=["query", r], msg="given more than once", type="repeated") for r in repeated],
        )
