"""GET /feeds/events (Server-Sent Events) and /feeds/ws (WebSocket): the live feeds of
alerts, work orders, stock and replenishment proposals (docs/api.md, "Live feeds").

Both carry the same domain events (``_feed_hub``), filtered by ``topics`` and ``site`` and
scoped to the stores the caller sees. A reconnecting SSE client sends ``Last-Event-ID``
(a browser's ``EventSource`` does so by itself) or ``?after=``; the header wins, since
the URL keeps the ``after`` it was first opened with. Every event after it that the caller
may see is sent once, in order, then live ones.

WebSocket authentication. A browser cannot set headers on a WebSocket, so the token may
come as ``?access_token=`` — on this route only, never on a plain HTTP route, where a
token in the URL would land in access logs and browser history for no need. The
WebSocket's caller is established by the authentication layer
(``_auth.authenticate_websocket``, through ``websocket_principal``, which a test may
override in ``app.dependency_overrides``) and held to the SSE feed's rule.

Topics by role. A caller gets only the topics whose lists its role may read
(``_policy.FEED_TOPIC_OPS``): a technician no proposals, a planner no alerts. Without
``topics`` it gets all of those; naming another is 403 ``insufficient-role``.

Plain ``StreamingResponse`` rather than sse-starlette: the format is four lines
(``_sse``), the heartbeat is the hub's, and Starlette's streaming response already ends
the stream when the client goes away (ASGI 2.3, uvicorn's); nothing else was wanted.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, FastAPI, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends as DependsParam
from fastapi.responses import StreamingResponse
from starlette.datastructures import QueryParams

from .._auth import authenticate_websocket
from .._common import Name, query_problem
from .._errors import ApiProblem, FieldError, error_response
from .._feed_hub import TOPICS, FeedConfig, FeedEvent, FeedHub, Heartbeat, Reconnect, Selection
from .._identity import Principal, PrincipalDep
from .._policy import FEED_TOPIC_OPS, POLICY

__all__ = [
    "FEED_QUERY",
    "close_feeds",
    "configure_feeds",
    "feed_hub",
    "install",
    "router",
    "websocket_principal",
    "ws_router",
]

router = APIRouter(prefix="/feeds", tags=["feeds"])
#: included without the HTTP routes' dependencies (they read a Request a WebSocket is not)
ws_router = APIRouter(prefix="/feeds")

SSE = "text/event-stream"
#: the query parameters of the WebSocket route (the SSE route's are checked by FastAPI)
FEED_QUERY = frozenset({"topics", "site", "after", "access_token"})
#: a WebSocket close code: try again later (the client resumes with its last id)
TRY_AGAIN_LATER = 1013
_TOPIC_LIST = ", ".join(TOPICS)
CURSOR_MAX = 2**63 - 1

Topics = Annotated[
    str | None, Query(description=f"comma-separated feed topics: {_TOPIC_LIST} (default: all of them)")
]
After = Annotated[
    int | None,
    Query(ge=0, le=CURSOR_MAX, description="resume after this event id (a Last-Event-ID header wins)"),
]
LastEventId = Annotated[
    str | None, Header(description="the id of the last event received: the stream resumes after it")
]

SSE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "a never-ending text/event-stream: per event `id:` (the domain event's id), `event:` "
            "(its kind) and `data:` (the event as JSON, with its site and ISO time); a comment "
            "every 15 s; a final `event: reconnect` when the client is too slow or the server stops"
        ),
        "content": {
            SSE: {
                "schema": {"type": "string"},
                "example": 'id: 42\nevent: alert.opened\ndata: {"id":42,"kind":"alert.opened",…}\n\n',
            }
        },
    },
    403: {"description": "the store named in `site` is outside the caller's stores"},
}


# -- the app's hub -------------------------------------------------------------------------


def configure_feeds(app: FastAPI, config: FeedConfig) -> None:
    """Use ``config`` for the app's feeds (before the first client connects)."""
    app.state.feed_config = config


def feed_hub(app: FastAPI) -> FeedHub:
    """The app's one hub (made on first use, with ``configure_feeds``' config)."""
    hub: FeedHub | None = getattr(app.state, "feed_hub", None)
    if hub is None:
        config: FeedConfig | None = getattr(app.state, "feed_config", None)
        hub = app.state.feed_hub = FeedHub(app.state.core, config)
    return hub


async def close_feeds(app: FastAPI) -> None:
    """End every open feed (``event: reconnect``, reason ``shutting-down``): a server that
    stops must not wait for never-ending responses."""
    hub: FeedHub | None = getattr(app.state, "feed_hub", None)
    if hub is not None:
        await hub.close()


def install(
    app: FastAPI, *, prefix: str, dependencies: list[DependsParam], responses: dict[int | str, dict[str, Any]]
) -> None:
    """Include the SSE route (with the HTTP routes' ``dependencies``) and the WebSocket route."""
    app.include_router(router, prefix=prefix, dependencies=dependencies, responses=responses)
    app.include_router(ws_router, prefix=prefix)


# -- what a client asked for ---------------------------------------------------------------


def parse_topics(raw: str | None) -> frozenset[str]:
    if raw is None:
        return frozenset(TOPICS)
    names = [t.strip() for t in raw.split(",")]
    unknown = sorted({t for t in names if t not in TOPICS})
    if unknown or not names:
        raise query_problem(
            "topics", f"unknown topic {', '.join(map(repr, unknown))}; topics are {_TOPIC_LIST}"
        )
    return frozenset(names)


def readable_topics(principal: Principal) -> frozenset[str]:
    """The topics whose lists the caller may read (``_policy.FEED_TOPIC_OPS``): a
    technician gets no proposals, a planner no alerts; an API key needs the lists' scope."""
    out = set()
    for topic, op in FEED_TOPIC_OPS.items():
        rule = POLICY[op]
        if rule is None or (
            rule.allows_role(principal.role)
            and (principal.via != "api_key" or rule.allows_scopes(principal.scopes))
        ):
            out.add(topic)
    return frozenset(out)


def selection(principal: Principal, topics: str | None, site: str | None) -> Selection:
    """What the caller gets: the topics asked for (all it may read when none are named;
    403 ``insufficient-role`` for a named one it may not), in the stores it may see (403
    ``out-of-scope`` for a ``site`` outside them)."""
    allowed = readable_topics(principal)
    if topics is None:
        chosen = frozenset(t for t in TOPICS if t in allowed)
    else:
        chosen = parse_topics(topics)
        refused = sorted(chosen - allowed)
        if refused:
            raise ApiProblem(
                403,
                "insufficient-role",
                f"the role {principal.role} may not read the topic(s) {', '.join(refused)}",
            )
    return Selection(chosen, principal.site_filter(site))


def resume_after(after: int | None, last_event_id: str | None) -> int | None:
    if last_event_id is None or not last_event_id.strip():
        return after
    text = last_event_id.strip()
    if not text.isdigit() or int(text) > CURSOR_MAX:
        raise ApiProblem(
            422,
            "validation",
            "Last-Event-ID must be an event id (a non-negative integer)",
            [FieldError(loc=["header", "Last-Event-ID"], msg="not an event id", type="value_error")],
        )
    return int(text)


# -- Server-Sent Events --------------------------------------------------------------------


def _sse(item: FeedEvent | Heartbeat | Reconnect) -> str:
    if isinstance(item, FeedEvent):
        return f"id: {item.id}\nevent: {item.kind}\ndata: {item.data}\n\n"
    if isinstance(item, Heartbeat):
        return ": heartbeat\n\n"
    data = json.dumps({"after": item.after, "reason": item.reason})
    return f"id: {item.after}\nevent: reconnect\nretry: 1000\ndata: {data}\n\n"


@router.get("/events", response_class=StreamingResponse, responses=SSE_RESPONSES)
async def feed_events(
    request: Request,
    principal: PrincipalDep,
    topics: Topics = None,
    site: Name | None = None,
    after: After = None,
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """The live feed as Server-Sent Events: every event after ``Last-Event-ID`` (or
    ``after``) the caller may see, once and in order, then live ones (docs/api.md)."""
    chosen = selection(principal, topics, site)
    start = resume_after(after, last_event_id)
    items = await feed_hub(request.app).open(chosen, start)  # "now" is this moment

    async def body() -> AsyncIterator[str]:
        yield ": connected\nretry: 2000\n\n"
        async for item in items:
            yield _sse(item)

    return StreamingResponse(
        body(), media_type=SSE, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


# -- WebSocket -----------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, status: int, kind: str, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail, self.errors = status, kind, detail, errors or []


def websocket_principal(websocket: WebSocket) -> Principal:
    """The caller of a WebSocket, established by the authentication layer as for HTTP
    routes (``_auth.authenticate_websocket``: ``Authorization: Bearer``, ``X-API-Key`` or
    ``?access_token=``, held to the SSE feed's rule). Override it to authenticate
    WebSockets otherwise."""
    try:
        return authenticate_websocket(websocket)
    except ApiProblem as problem:
        raise _Refused(problem.status_code, problem.kind, problem.detail, problem.errors) from None


def _ws_query(params: QueryParams) -> tuple[str | None, str | None, int | None]:
    unknown = sorted(set(params.keys()) - FEED_QUERY)
    if unknown:
        raise _Refused(
            422,
            "validation",
            f"unknown query parameter {', '.join(map(repr, unknown))}; this endpoint takes "
            f"{', '.join(sorted(FEED_QUERY))}",
            [
                FieldError(loc=["query", u], msg="unknown query parameter", type="extra_forbidden")
                for u in unknown
            ],
        )
    repeated = sorted(n for n in params if len(params.getlist(n)) > 1)
    if repeated:
        raise _Refused(
            422, "validation", f"query parameter {', '.join(map(repr, repeated))} given more than once"
        )
    site = params.get("site")
    if site is not None and not (0 < len(site) <= 128 and site.isprintable()):
        raise _Refused(422, "validation", "site must be 1-128 printable characters")
    raw_after = params.get("after")
    if raw_after is not None and (not raw_after.isdigit() or int(raw_after) > CURSOR_MAX):
        raise _Refused(422, "validation", "after must be an event id (a non-negative integer)")
    return params.get("topics"), site, None if raw_after is None else int(raw_after)


def _frame(item: FeedEvent | Heartbeat | Reconnect) -> str:
    if isinstance(item, FeedEvent):
        return '{"type":"event","event":' + item.data + "}"
    if isinstance(item, Heartbeat):
        return '{"type":"heartbeat"}'
    return json.dumps({"type": "reconnect", "after": item.after, "reason": item.reason})


async def _refuse(websocket: WebSocket, refused: _Refused) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        response = error_response(refused.status, refused.detail, refused.errors, kind=refused.kind)
        await websocket.send_denial_response(response)
    else:
        await websocket.close(code=1008, reason=refused.detail[:120])


@ws_router.websocket("/ws")
async def feed_ws(websocket: WebSocket) -> None:
    """The live feed over a WebSocket: JSON messages ``{"type": "event", "event": …}``,
    ``{"type": "heartbeat"}`` and a final ``{"type": "reconnect", "after": N, …}``."""
    override = websocket.app.dependency_overrides.get(websocket_principal, websocket_principal)
    try:
        principal: Principal = await run_in_threadpool(override, websocket)  # it may read the database
        topics, site, after = _ws_query(websocket.query_params)
        try:
            chosen = selection(principal, topics, site)
        except ApiProblem as problem:
            raise _Refused(problem.status_code, problem.kind, problem.detail, problem.errors) from None
    except _Refused as refused:
        await _refuse(websocket, refused)
        return
    items = await feed_hub(websocket.app).open(chosen, after)  # "now" is before the accept
    await websocket.accept()

    async def pump() -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # a send after the client left
            async for item in items:
                await websocket.send_text(_frame(item))
                if isinstance(item, Reconnect):
                    await websocket.close(code=TRY_AGAIN_LATER, reason=item.reason)
                    break
        group.cancel_scope.cancel()

    async def listen() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # the client has nothing to say; its messages are ignored
        group.cancel_scope.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(pump, name="feed-ws-send")
        group.start_soon(listen, name="feed-ws-recv")
