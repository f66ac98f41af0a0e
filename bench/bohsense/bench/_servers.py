"""Mosquitto and InfluxDB 1.x for a benchmark run: free ports, temporary directories.

Both are tuned for throughput, not durability: Mosquitto keeps its queues in memory
(no persistence) with unlimited queue length, InfluxDB skips WAL fsync delays.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["BenchServerError", "InfluxServer", "MosquittoServer", "free_port"]


class BenchServerError(RuntimeError):
    """A server the benchmark needs is missing or did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary(name: str, package: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        raise BenchServerError(f"{name} is not installed: apt-get install -y {package}")
    return path


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchServerError(f"server exited with code {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise BenchServerError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


class _Server:
    proc: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


class MosquittoServer(_Server):
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> MosquittoServer:
        exe = _binary("mosquitto", "mosquitto")
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 1000\n"
            "max_packet_size 2097152\nlog_dest stderr\nlog_type error\n"
        )
        log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([exe, "-c", str(conf)], stdout=log, stderr=log)
        _wait_port(self.port, self.proc)
        return self


class InfluxServer(_Server):
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.rpc_port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> InfluxServer:
        exe = _binary("influxd", "influxdb")
        d = self.workdir
        d.mkdir(parents=True, exist_ok=True)
        conf = d / "influxdb.conf"
        conf.write_text(
            f'reporting-disabled = true\nbind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{d}/meta"\n[data]\n  dir = "{d}/data"\n  wal-dir = "{d}/wal"\n'
            '  query-log-enabled = false\n  wal-fsync-delay = "0s"\n'
            f'[http]\n  enabled = true\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            '  max-body-size = 0\n[logging]\n  level = "warn"\n[monitor]\n  store-enabled = false\n'
            "[continuous_queries]\n  enabled = false\n"
        )
        log = open(d / "influxd.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([exe, "-config", str(conf)], stdout=log, stderr=log)
        _wait_port(self.port, self.proc)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as r:
                    if r.status == 204:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise BenchServerError("influxd did not answer /ping")
            time.sleep(0.1)

    def query(self, q: str, db: str | None = None) -> dict[str, Any]:
        params = {"q": q, "epoch": "ns"}
        if db:
            params["db"] = db
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(f"{self.url}/query", data=data, timeout=120) as r:
            return dict(json.loads(r.read()))

    def create_database(self, name: str) -> str:
        self.query(f'CREATE DATABASE "{name}"')
        return name

    def count(self, db: str) -> int:
        res = self.query("SELECT count(value) FROM reading", db)
        series = res["results"][0].get("series")
        return int(series[0]["values"][0][1]) if series else 0
