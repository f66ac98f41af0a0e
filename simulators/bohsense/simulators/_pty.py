"""``PtyDevice``: a serial device on a pseudo-terminal, the front end of ``SerialDevice``.

The device owns the master end of a pty; the gateway opens the slave path (``.port``)
with pyserial, exactly as it would open ``/dev/ttyUSB0``. One thread per device moves
bytes between the pty and the sans-I/O ``SerialDevice`` and lets its time pass
(``advance``); everything the device decides lives there, not here.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import select
import threading
import time
import tty
from pathlib import Path
from typing import Any, Self

from bohsense.simulators._serial import SerialDevice

__all__ = ["PtyDevice"]

log = logging.getLogger(__name__)

#: the longest the device thread sleeps, so that stop() and injected bytes are prompt
MAX_WAIT_S = 0.05


class PtyDevice(SerialDevice):
    """A ``SerialDevice`` reachable at ``.port``. Subclasses supply the physics."""

    def __init__(self, device_id: str, **kwargs: Any) -> None:
        super().__init__(device_id, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = -1
        self._slave = -1
        self._port = ""
        self._link: Path | None = None

    @property
    def port(self) -> str:
        if not self._port:
            raise RuntimeError("device not started")
        return self._port

    def start(self, link: str | Path | None = None) -> Self:
        """Open the pty, boot the device and start its thread. ``link``: also make a symlink to the port."""
        self._open_pty(link)
        self.boot()
        self._start_thread()
        return self

    def _open_pty(self, link: str | Path | None) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        flags = fcntl.fcntl(self._master, fcntl.F_GETFL)
        fcntl.fcntl(self._master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self._port = os.ttyname(self._slave)
        if link is not None:
            self.relink(link)

    def _start_thread(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.device_id}", daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        """USB unplugged: the device loses power and its port vanishes (the pty is closed;
        the symlink, as udev would, is removed). The shelf's physics go on meanwhile."""
        self.power_off()
        self._close()
        if self._link is not None:
            with contextlib.suppress(FileNotFoundError):
                self._link.unlink()
        self.record({"kind": "unplug"})

    def _unplugged(self, duration_s: float) -> None:
        if self._master < 0:  # driven without its pty (a test, the evaluation): no port to pull
            super()._unplugged(duration_s)
            return

        # called on the device's own thread, which unplug() stops: unplug from another one
        def cycle() -> None:
            self.unplug()
            time.sleep(duration_s)
            self.replug()

        threading.Thread(target=cycle, name=f"sim-{self.device_id}-usb", daemon=True).start()

    def replug(self) -> None:
        """Plugged back in: a new port (another pty, the symlink pointed at it) and a reboot.
        Scripted actions keep their time base, so a scenario runs on across the unplug."""
        self._open_pty(self._link)
        self.power_on()
        self._start_thread()
        self.record({"kind": "replug", "port": self._port})

    def relink(self, link: str | Path) -> None:
        """Point the symlink ``link`` at this device's port (atomically), as udev does."""
        path = Path(link)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(self.port)
        tmp.replace(path)
        self._link = path

    def stop(self) -> None:
        """Stop the thread and close the pty: to the gateway, the device was unplugged."""
        self._close()

    def _close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    def __enter__(self) -> Self:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def ground_truth(self) -> dict[str, Any]:
        return {**super().ground_truth(), "port": self._port}

    # -- the device thread --------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                wait = max(0.0, self.next_deadline() - self.host.monotonic())
                want_write = [self._master] if self.data_to_send() else []
                readable, _, _ = select.select([self._master], want_write, [], min(wait, MAX_WAIT_S))
                if readable:
                    self._read()
                self.advance()
                self._flush()
        except Exception:  # a crash of the simulator thread must be visible
            log.exception("device %s stopped by an error", self.device_id)
            raise

    def _read(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EIO:  # no process has the port open
                time.sleep(0.01)
                return
            raise
        self.receive(data)

    def _flush(self) -> None:
        while data := self.data_to_send():
            try:
                n = os.write(self._master, data)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno == errno.EIO:
                    return
                raise
            self.bytes_sent(n)
