"""Unknown query parameters are refused (422, naming the ones the endpoint takes), never
silently ignored: a misspelt or unsupported filter would otherwise widen the answer
(``/readings/series?gatway=…`` answering for every store).

FastAPI's ``APIRoute.dependant`` tree is read here and only here.
"""

from __future__ import annotations

from fastapi import HTTPException, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

__all__ = ["reject_unknown_query"]


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def reject_unknown_query(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _query_names(route.dependant)  # a few params: cheap to walk
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        names = ", ".join(repr(u) for u in unknown)
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown query parameter{'s' if len(unknown) > 1 else ''} {names}; this endpoint takes {takes}",
        )
