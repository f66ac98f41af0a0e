"""Shared parts of the cloud-side fault tests: scoring a run, a TCP proxy the test controls,
the cloud service as a child process, and the figures each fault reports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.services import free_port
from tests.system.harness import StoreSystem, wait_for

#: where a run's figures are appended as JSON lines (one per fault) when set
FIGURES_ENV = "BOHSENSE_FAULT_REPORT"


@dataclass
class Figures:
    fault: str
    produced: int
    stored: int
    lost: int
    applied_twice: int
    recover_s: float
    extra: dict[str, Any]

    def report(self) -> None:
        line = json.dumps({**self.__dict__, "recover_s": round(self.recover_s, 2)})
        print(f"\nFAULT FIGURES {line}")
        path = os.environ.get(FIGURES_ENV)
        if path:
            with open(path, "a", encoding="utf-8") as f:
                f.write(line + "\n")


def score(s: StoreSystem, fault: str, recover_s: float, stored: dict[tuple[str, str], int],
          readings_applied: int, **extra: Any) -> Figures:  # fmt: skip
    """Produced (by the devices), stored (raw series in InfluxDB), lost, applied twice
    (readings the BOH core applied beyond the distinct readings InfluxDB holds)."""
    expected = s.expected()
    produced = sum(expected.values())
    kept = sum(min(stored.get(k, 0), v) for k, v in expected.items())
    distinct = sum(stored.values())  # includes the gateway's derived readings
    return Figures(fault, produced, kept, produced - kept, readings_applied - distinct, recover_s, extra)


async def recovered_after(s: StoreSystem, restored_at: float, limit_s: float = 120) -> float:
    """Seconds from ``restored_at`` (monotonic) until InfluxDB holds every raw reading the
    devices had produced by then: the backlog of the outage is stored."""
    target = s.expected()

    def caught_up() -> bool:
        got = s.stored()
        return all(got.get(k, 0) >= v for k, v in target.items())

    await wait_for(caught_up, limit_s=limit_s, what="the backlog to be stored", every_s=0.2)
    return time.monotonic() - restored_at


async def settled_stats(s: StoreSystem) -> dict[str, Any]:
    """The worker's counters once nothing it received waits to be applied: InfluxDB holding
    a chunk's readings does not mean the BOH core has applied it yet (it is stored first)."""
    await wait_for(lambda: s.service.stats()["pending_messages"] == 0, limit_s=30,
                   what="the last chunk to be applied", every_s=0.05)  # fmt: skip
    await asyncio.sleep(0.5)
    await wait_for(lambda: s.service.stats()["pending_messages"] == 0, limit_s=30,
                   what="the last chunk to be applied", every_s=0.05)  # fmt: skip
    return s.service.stats()


class TcpProxy:
    """A loopback TCP proxy in this event loop: ``cut()`` resets every connection through it,
    ``refuse()`` closes the listening socket (new connections are refused), ``accept()``
    listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0
        self.cuts = 0

    async def accept(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def refuse(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def cut(self) -> int:
        """Reset every open connection (RST); how many were cut."""
        n = 0
        for w in list(self._writers):
            transport = w.transport
            with contextlib.suppress(Exception):
                transport.abort()
                n += 1
        self._writers.clear()
        self.cuts += n
        return n

    async def close(self) -> None:
        await self.refuse()
        self.cut()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._writers.update((writer, up_w))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.transport.abort()

        try:
            await asyncio.gather(pump(reader, up_w), pump(up_r, writer))
        finally:
            self._writers.discard(writer)
            self._writers.discard(up_w)


def via_proxy(url: str, port: int) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0]
    return urllib.parse.urlunsplit((parts.scheme, f"{host}:{port}", parts.path, parts.query, ""))


class CloudProcess:
    """``bohsense cloud run`` as a child process, configured through its environment."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.api_port = free_port()
        self.env = {**os.environ, **env, "BOHSENSE_CLOUD_API_PORT": str(self.api_port)}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v1"

    async def start(self) -> None:
        self.spawn()
        await wait_for(
            self._ready, limit_s=60, what=f"the cloud service on port {self.api_port}", every_s=0.2
        )

    def spawn(self) -> None:
        self.starts += 1
        log = open(self.workdir / f"cloud-{self.api_port}.log", "ab")  # noqa: SIM115 - the child's
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bohsense", "cloud", "run"],
            env=self.env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    async def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            log = (self.workdir / f"cloud-{self.api_port}.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"the cloud service exited with {self.proc.returncode}:\n{log}")
        try:
            async with httpx.AsyncClient(timeout=2) as c:
                r = await c.get(self.api + "/readyz")
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    async def ingest(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as c:
            r = await c.get(self.api + "/health")
        return dict(r.json()["ingest"])

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError("the cloud service did not stop within 30 s of SIGTERM") from None
