"""The systemd notification protocol (``sd_notify``), for both daemons of ``Type=notify`` units.

systemd passes ``NOTIFY_SOCKET``: the path of a Unix datagram socket (``@name`` for one in
the abstract namespace). A message is newline-separated ``KEY=VALUE`` lines in one
datagram::

    READY=1            the daemon is ready: systemd ends the start job
    STATUS=text        one line shown by ``systemctl status``
    WATCHDOG=1         alive; with ``WatchdogSec=`` systemd passes ``WATCHDOG_USEC`` and
                       kills (then restarts) a daemon that stays silent that long
    RELOADING=1        a reload began (with ``MONOTONIC_USEC=``); READY=1 ends it
    STOPPING=1         shutdown began

Outside systemd (no ``NOTIFY_SOCKET``) every call does nothing, so the daemons call it
unconditionally. A lost notification is never an error of the daemon: sending is
non-blocking and a failure is logged once at DEBUG. The watchdog is enabled only when
``WATCHDOG_USEC`` is set and ``WATCHDOG_PID``, if set, is this process; ``ping_interval_s``
is half of it, as ``sd_watchdog_enabled(3)`` advises.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

__all__ = ["Notifier"]

log = logging.getLogger(__name__)


def _address(value: str) -> str | bytes | None:
    """The ``sendto`` address of a ``NOTIFY_SOCKET`` value; None when there is none we can use."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()  # abstract namespace
    if value.startswith("/"):
        return value
    return None  # vsock: and other forms are not used by the units


class Notifier:
    """One daemon's notification channel. ``Notifier.from_environment()`` in a daemon;
    ``Notifier()`` is a silent one (tests, library use)."""

    def __init__(self, notify_socket: str | None = None, watchdog_usec: int | None = None) -> None:
        self._address = _address(notify_socket) if notify_socket else None
        self._sock: socket.socket | None = None
        self._failed = False
        self.watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None
        self.sent = 0  # datagrams sent (for tests and the status line)

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if env is None else env
        usec: int | None = None
        raw = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if raw.isdigit() and (not pid or pid == str(os.getpid())):
            usec = int(raw)
        return cls(env.get("NOTIFY_SOCKET") or None, usec)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    @property
    def ping_interval_s(self) -> float | None:
        """How often to send WATCHDOG=1 (half the watchdog timeout); None: no watchdog."""
        return self.watchdog_usec / 2e6 if self.watchdog_usec is not None and self.enabled else None

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=VALUE`` lines (keyword names upper-cased); True if the datagram left."""
        if self._address is None:
            return False
        lines = []
        for key, value in fields.items():
            text = str(value).replace("\n", " ")
            lines.append(f"{key.upper()}={text}")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)
            self._sock.sendto("\n".join(lines).encode(), self._address)
        except OSError as exc:
            if not self._failed:
                self._failed = True
                log.debug("systemd notification not sent: %s", exc)
            return False
        self.sent += 1
        return True

    def ready(self, status: str) -> bool:
        return self.notify(ready=1, status=status)

    def status(self, status: str) -> bool:
        return self.notify(status=status)

    def reloading(self, status: str = "reloading the configuration") -> bool:
        return self.notify(reloading=1, monotonic_usec=time.monotonic_ns() // 1000, status=status)

    def stopping(self, status: str = "stopping") -> bool:
        return self.notify(stopping=1, status=status)

    def watchdog(self) -> bool:
        return self.notify(watchdog=1) if self.watchdog_usec is not None else False

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
