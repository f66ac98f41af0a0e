"""The thin transport under the serial driver: one pyserial port, buffers and timeouts.

pyserial is blocking, so every call runs on a worker thread: one thread reads (with a
short timeout so a cancelled driver lets go within ``read_timeout_s``), another writes,
so a TIME_SYNC request is never stuck behind a read. ``open`` accepts anything
``serial.serial_for_url`` does: a device path, a symlink, ``loop://``, ``socket://…``.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["SerialLink"]


class SerialLink:
    def __init__(self, url: str, *, baudrate: int, read_timeout_s: float, name: str) -> None:
        self.url = url
        self.baudrate = baudrate
        self.read_timeout_s = read_timeout_s
        self._reader = ThreadPoolExecutor(1, thread_name_prefix=f"serial-rx-{name}")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix=f"serial-tx-{name}")
        self._port: Any = None

    async def open(self) -> None:
        import serial

        loop = asyncio.get_running_loop()
        self._port = await loop.run_in_executor(
            self._reader,
            lambda: serial.serial_for_url(
                self.url, baudrate=self.baudrate, timeout=self.read_timeout_s, write_timeout=2.0
            ),
        )

    def _read_blocking(self) -> bytes:
        port = self._port
        data: bytes = port.read(1)
        if data:
            waiting = port.in_waiting
            if waiting:
                data += port.read(waiting)
        return data

    async def read(self) -> bytes:
        """Whatever arrived, or b"" after the read timeout. Raises on a vanished port."""
        return await asyncio.get_running_loop().run_in_executor(self._reader, self._read_blocking)

    async def write(self, data: bytes) -> None:
        port = self._port
        await asyncio.get_running_loop().run_in_executor(self._writer, port.write, data)

    async def close(self) -> None:
        port, self._port = self._port, None
        if port is None:
            return
        with contextlib.suppress(Exception):
            port.cancel_read()
        # queued behind any read still running, so the port is never closed under it
        with contextlib.suppress(Exception):
            await asyncio.get_running_loop().run_in_executor(self._reader, port.close)

    def shutdown(self) -> None:
        self._reader.shutdown(wait=False, cancel_futures=True)
        self._writer.shutdown(wait=False, cancel_futures=True)
