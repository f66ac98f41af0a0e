"""A small webhook receiver, as an ERP or CMMS would run one: it checks the signature,
processes each idempotency key once, and can be told to misbehave (down, slow, 5xx).

It verifies ``X-Bohsense-Signature`` exactly as docs/boh.md tells a receiver to (its own
few lines of ``hmac``, not the sender's code), answers 401 to a bad signature, 200 to a
key it already processed (without processing it again), and keeps everything it saw.

``behaviour`` decides each answer from the request (``Request``) before processing: return
an HTTP status to answer without processing, ``("slow", seconds)`` to process and then
answer late, or None to process and answer 200.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Received", "WebhookReceiver", "verify_signature"]


def verify_signature(secret: str, body: bytes, header: str, tolerance_s: float = 300.0) -> bool:
    """The receiver's check (docs/boh.md): ``t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


@dataclass(frozen=True, slots=True)
class Received:
    key: str
    topic: str
    attempt: int
    signature_ok: bool
    body: dict[str, Any]
    status: int
    at: float


Behaviour = Callable[[Received], "int | tuple[str, float] | None"]


@dataclass
class WebhookReceiver:
    secret: str
    port: int = 0
    behaviour: Behaviour | None = None
    #: every request, in arrival order
    requests: list[Received] = field(default_factory=list)
    #: the keys processed, in processing order (each once)
    processed: list[str] = field(default_factory=list)
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                receiver._handle(self, raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, h: BaseHTTPRequestHandler, raw: bytes) -> None:
        key = h.headers.get("Idempotency-Key", "")
        ok = verify_signature(self.secret, raw, h.headers.get("X-Bohsense-Signature", ""))
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        seen = Received(
            key=key,
            topic=h.headers.get("X-Bohsense-Topic", ""),
            attempt=int(h.headers.get("X-Bohsense-Attempt", "0") or 0),
            signature_ok=ok,
            body=body,
            status=0,
            at=time.time(),
        )
        status, delay = 200, 0.0
        if not ok:
            status = 401
        else:
            decided = self.behaviour(seen) if self.behaviour is not None else None
            if isinstance(decided, int):
                status = decided
            else:
                if isinstance(decided, tuple):
                    delay = decided[1]
                with self._lock:
                    if key not in self.bodies:  # processed once per key
                        self.processed.append(key)
                        self.bodies[key] = body
        with self._lock:
            self.requests.append(Received(seen.key, seen.topic, seen.attempt, ok, body, status, seen.at))
        if delay:
            time.sleep(delay)
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.end_headers()
            h.wfile.write(json.dumps({"ok": status == 200}).encode())
        except OSError:  # the sender gave up waiting
            pass
