"""``LLRPServer``: the asyncio TCP front end of one or more ``LLRPReader``s.

One listening socket per reader (LLRP's port is 5084; tests use port 0 and read
``ports``). Per reader, one task lets its time pass (``advance``) and writes what it has
to send; a connection task feeds it the bytes it receives. Everything the reader
decides lives in ``LLRPReader``: this module only moves bytes and carries out
``close_request`` (close after flushing, or abort: a dropped network or a reboot).
``start_in_thread`` runs the server in its own thread and event loop, for tests and
clients that block.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Sequence
from typing import Self

from bohsense.simulators._llrp_reader import LLRPReader

__all__ = ["LLRPServer"]

log = logging.getLogger(__name__)

#: the longest a reader's task sleeps, so that stop() and new bytes are prompt
MAX_WAIT_S = 0.05


class _Slot:
    def __init__(self, reader: LLRPReader, port: int) -> None:
        self.reader = reader
        self.port = port
        self.writer: asyncio.StreamWriter | None = None
        self.wake = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.connections = 0
        self.refused = 0


class LLRPServer:
    """Serve ``readers`` on ``host``, each at its port (0: any free port)."""

    def __init__(self, readers: Sequence[tuple[LLRPReader, int]], host: str = "127.0.0.1") -> None:
        if not readers:
            raise ValueError("an LLRP server needs at least one reader")
        self.host = host
        self._wanted = list(readers)
        self._slots: list[_Slot] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    @property
    def ports(self) -> dict[str, int]:
        """Reader id → the port it listens on."""
        return {s.reader.device_id: s.port for s in self._slots}

    @property
    def readers(self) -> dict[str, LLRPReader]:
        return {r.device_id: r for r, _ in self._wanted}

    # -- asyncio ----------------------------------------------------------------------

    async def start(self) -> None:
        self._stopped = asyncio.Event()
        for reader, port in self._wanted:
            slot = _Slot(reader, port)
            slot.server = await asyncio.start_server(
                functools.partial(self._serve, slot), self.host, port, reuse_address=True
            )
            slot.port = slot.server.sockets[0].getsockname()[1]
            reader.boot()
            self._slots.append(slot)
            self._tasks.append(asyncio.create_task(self._tick(slot), name=f"llrp-{reader.device_id}"))

    async def serve_until_stopped(self) -> None:
        assert self._stopped is not None
        await self._stopped.wait()
        await self.close()

    def request_stop(self) -> None:
        if self._stopped is not None:
            self._stopped.set()

    async def close(self) -> None:
        for slot in self._slots:
            if slot.server is not None:
                slot.server.close()
            if slot.writer is not None:
                slot.writer.transport.abort()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for slot in self._slots:
            if slot.server is not None:
                with contextlib.suppress(Exception):
                    await slot.server.wait_closed()

    async def _serve(self, slot: _Slot, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        reader = slot.reader
        if not reader.connect():
            slot.refused += 1
            if reader.rebooting_until is None:  # a second client: told why (a rebooting reader says nothing)
                with contextlib.suppress(ConnectionError):
                    w.write(reader.refusal_bytes())
                    await w.drain()
            w.close()
            return
        slot.connections += 1
        slot.writer = w
        slot.wake.set()
        try:
            while True:
                try:
                    data = await r.read(65536)
                except ConnectionError:
                    break
                if not data:
                    break
                if slot.writer is not w:
                    break
                reader.receive(data)
                slot.wake.set()
        finally:
            if slot.writer is w:
                slot.writer = None
                reader.disconnect()
            w.close()

    async def _tick(self, slot: _Slot) -> None:
        reader = slot.reader
        try:
            while True:
                reader.advance()
                w = slot.writer
                if w is not None:
                    data = reader.data_to_send()
                    if data and not w.is_closing():
                        w.write(data)
                        reader.bytes_sent(len(data))
                    request = reader.close_request
                    if request == "abort":
                        slot.writer = None
                        reader.disconnect()
                        w.transport.abort()
                    elif request == "close" and not reader.data_to_send():
                        slot.writer = None
                        reader.disconnect()
                        with contextlib.suppress(ConnectionError):
                            await w.drain()
                        w.close()
                    elif data:
                        with contextlib.suppress(ConnectionError):
                            await w.drain()
                wait = max(0.0, min(reader.next_deadline() - reader.host.monotonic(), MAX_WAIT_S))
                slot.wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await slot.wake.wait()
        except asyncio.CancelledError:
            raise
        except Exception:  # a crash of a reader must be visible
            log.exception("reader %s stopped by an error", reader.device_id)
            raise

    # -- in a thread ------------------------------------------------------------------

    def start_in_thread(self) -> Self:
        """Run the server in its own thread; returns once every port is listening."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def main() -> None:
                try:
                    await self.start()
                except BaseException as exc:
                    failure.append(exc)
                    ready.set()
                    raise
                ready.set()
                await self.serve_until_stopped()

            try:
                loop.run_until_complete(main())
            except BaseException:  # already reported through failure or the log
                pass
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="llrp-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def call(self, fn: object, *args: object) -> None:
        """Run ``fn(*args)`` in the server's thread (to switch a fault on a running reader)."""
        assert self._loop is not None
        done = threading.Event()

        def go() -> None:
            try:
                fn(*args)  # type: ignore[operator]
            finally:
                done.set()

        self._loop.call_soon_threadsafe(go)
        done.wait(5)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self.request_stop)
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop()
