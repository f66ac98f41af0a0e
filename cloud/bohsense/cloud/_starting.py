"""The API while the service starts: liveness at once, readiness saying what it waits for.

``StartingApp`` is the ASGI application uvicorn serves from the moment the API's socket
is bound, before the time-series store and the BOH database are open (either may take
minutes to come up). Until ``serve`` hands it the real application it answers:

- ``GET /api/v1/healthz``: 200 ``{"alive": true, "starting": true}`` — a liveness probe
  must not restart a service that is only waiting for a dependency;
- ``GET /api/v1/readyz``: 503 with the same ``checks`` / ``not_ready`` shape as the real
  probe (``database``, ``tsdb``, ``broker``) and ``detail``, what start-up waits for;
- anything else: 503 ``application/problem+json`` with ``Retry-After``.

Once the real application is set every request goes to it; nothing is restarted or re-bound.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["StartingApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREFIX = "/api/v1"
RETRY_AFTER_S = 5


class StartingApp:
    """Answers probes during start-up, then forwards every request to the real app."""

    def __init__(self) -> None:
        self.target: ASGIApp | None = None
        #: dependency -> ready yet
        self.checks: dict[str, bool] = {"database": False, "tsdb": False, "broker": False}
        self.detail = "starting"

    def serve(self, app: ASGIApp) -> None:
        self.target = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.target is not None:
            await self.target(scope, receive, send)
            return
        if scope["type"] == "lifespan":  # uvicorn runs with lifespan="off"; be safe anyway
            return
        if scope["type"] != "http":  # websockets: refuse until the real app serves
            await send({"type": "websocket.close", "code": 1013})
            return
        path = scope.get("path", "")
        if path == f"{PREFIX}/healthz" and scope.get("method") in ("GET", "HEAD"):
            await _json(send, 200, {"alive": True, "starting": True})
        elif path == f"{PREFIX}/readyz" and scope.get("method") in ("GET", "HEAD"):
            not_ready = sorted(name for name, ok in self.checks.items() if not ok)
            body = {
                "ready": False,
                "checks": dict(self.checks),
                "not_ready": not_ready,
                "detail": self.detail,
            }
            await _json(send, 503, body, retry=True)
        else:
            problem = {
                "type": "https://bohsense.dev/problems/unavailable",
                "title": "Service Unavailable",
                "status": 503,
                "detail": f"the service is starting ({self.detail}); retry in {RETRY_AFTER_S} s",
                "instance": path,
            }
            await _json(send, 503, problem, retry=True, media="application/problem+json")


async def _json(
    send: Send, status: int, body: dict[str, Any], *, retry: bool = False, media: str = "application/json"
) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", media.encode()), (b"content-length", str(len(data)).encode())]
    if retry:
        headers.append((b"retry-after", str(RETRY_AFTER_S).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
