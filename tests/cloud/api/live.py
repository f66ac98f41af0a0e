"""A real uvicorn server in a thread of the test process, for streaming routes (SSE): the
test keeps the app's core in hand to make events while a client listens over TCP.

``Principals`` is a test's authentication layer: a pure ASGI middleware that stores the
principal named by the ``X-Test-Principal`` header on the connection's state, and makes
the app's routes read it (``current_principal`` and the WebSocket's
``websocket_principal`` overridden), for HTTP and WebSocket alike. The app's own guard
runs as on an open API; the scoping under test is the routes' and the feed's."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from bohsense.cloud.api._identity import LOCAL, Principal, current_principal
from bohsense.cloud.api.routers.feeds import websocket_principal
from tests.support.services import free_port


class Principals:
    def __init__(self, app: Any, principals: Mapping[str, Principal]) -> None:
        self.app: ASGIApp = app
        self.principals = principals
        app.dependency_overrides[current_principal] = _named
        app.dependency_overrides[websocket_principal] = _named

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            name = dict(scope["headers"]).get(b"x-test-principal")
            if name is not None:
                scope.setdefault("state", {})["test_principal"] = self.principals[name.decode()]
        await self.app(scope, receive, send)


def _named(connection: HTTPConnection) -> Principal:
    principal: Principal | None = connection.scope.get("state", {}).get("test_principal")
    return principal if principal is not None else LOCAL


@contextlib.contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """``app`` on a free port until the block ends; its base URL (uvicorn leaves the
    process's logging as it is: no ``log_config``)."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn ended while starting"
        assert time.monotonic() < deadline, "uvicorn did not start in 10 s"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        assert not thread.is_alive(), "uvicorn did not stop"


@dataclass(frozen=True)
class Sse:
    id: int | None
    event: str
    data: Any


class SseReader:
    """Reads SSE events off a streaming httpx response (comments skipped)."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()
        self.comments = 0

    def next(self) -> Sse:
        import json

        fields: dict[str, str] = {}
        for line in self.lines:
            if line == "":
                if "data" in fields:
                    raw_id = fields.get("id")
                    return Sse(
                        int(raw_id) if raw_id else None,
                        fields.get("event", "message"),
                        json.loads(fields["data"]),
                    )
                fields = {}
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        raise AssertionError("the stream ended")

    def take(self, n: int) -> list[Sse]:
        return [self.next() for _ in range(n)]
