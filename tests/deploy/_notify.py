"""The systemd side of ``sd_notify`` for tests: a datagram socket the test owns, given to a
daemon as ``NOTIFY_SOCKET``, that collects what the daemon says."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path


def parse(datagram: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in datagram.decode().split("\n"):
        key, sep, value = line.partition("=")
        assert sep, f"not KEY=VALUE: {line!r} in {datagram!r}"
        fields[key] = value
    return fields


class NotifySocket:
    """``NotifySocket(tmp_path)`` binds a path socket, ``NotifySocket(None)`` an abstract one
    (``@…``); ``address`` is the ``NOTIFY_SOCKET`` value; ``messages`` what arrived."""

    def __init__(self, directory: Path | None) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if directory is None:
            name = f"bohsense-test-{uuid.uuid4().hex}"
            self.sock.bind(b"\0" + name.encode())
            self.address = "@" + name
        else:
            path = directory / "notify.sock"
            self.sock.bind(str(path))
            self.address = str(path)
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closed:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.messages.append((time.monotonic(), parse(data)))

    def env(self, watchdog_usec: int | None = None) -> dict[str, str]:
        out = {"NOTIFY_SOCKET": self.address}
        if watchdog_usec is not None:
            out["WATCHDOG_USEC"] = str(watchdog_usec)
        return out

    def snapshot(self) -> list[tuple[float, dict[str, str]]]:
        with self._lock:
            return list(self.messages)

    def wait_for(
        self, predicate: Callable[[dict[str, str]], bool], timeout: float, what: str, after: int = 0
    ) -> tuple[int, float, dict[str, str]]:
        """The first message from index ``after`` on that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, (at, msg) in enumerate(self.snapshot()[after:], start=after):
                if predicate(msg):
                    return i, at, msg
            time.sleep(0.02)
        raise AssertionError(f"no {what} within {timeout} s; got {[m for _, m in self.snapshot()]}")

    def close(self) -> None:
        self._closed = True
        self._reader.join(1)
        self.sock.close()
        if not self.address.startswith("@") and os.path.exists(self.address):
            os.unlink(self.address)
