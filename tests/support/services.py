"""Real Mosquitto, InfluxDB 1.x and PostgreSQL for tests.

Each server runs on a free port with a temporary data directory and is stopped at the
end. A missing server binary fails the test with the command that installs it; it is
never a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def require_binary(name: str, package: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        pytest.fail(f"{name} is not installed: run `apt-get install -y {package}` (.ci/run does)")
    return path


@dataclass
class Mosquitto:
    """A Mosquitto broker on a free port, with persistence in a temporary directory.

    Queue limits are set deliberately (the broker default of 1000 queued messages per
    persistent session silently drops QoS 1 messages for a subscriber that falls
    behind): ``max_queued_messages 0`` is unlimited, bounded by ``max_queued_bytes``.
    """

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _config(self) -> Path:
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous true",
                    "persistence true",
                    f"persistence_location {self.workdir}/",
                    "autosave_interval 1",
                    "max_queued_messages 0",
                    "max_queued_bytes 1073741824",
                    "max_inflight_messages 0",
                    "max_packet_size 2097152",
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    "",
                ]
            )
        )
        return conf

    def start(self) -> Mosquitto:
        exe = require_binary("mosquitto", "mosquitto")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([exe, "-c", str(self._config())], stdout=log, stderr=log)
        wait_port(self.port, proc=self.proc)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class InfluxDB:
    """InfluxDB 1.x (Debian's ``influxd``) on free ports with temporary data dirs."""

    workdir: Path
    port: int = field(default_factory=free_port)
    rpc_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _config(self) -> Path:
        conf = self.workdir / "influxdb.conf"
        d = self.workdir
        conf.write_text(
            f"""reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"
[meta]
  dir = "{d}/meta"
[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false
  wal-fsync-delay = "0s"
[http]
  enabled = true
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
  max-body-size = 0
[logging]
  level = "warn"
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
"""
        )
        return conf

    def start(self) -> InfluxDB:
        exe = require_binary("influxd", "influxdb")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "influxd.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([exe, "-config", str(self._config())], stdout=log, stderr=log)
        wait_port(self.port, timeout=30, proc=self.proc)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as r:
                    if r.status == 204:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("influxd did not answer /ping")
            time.sleep(0.1)

    def query(self, q: str, db: str | None = None) -> dict[str, object]:
        import json

        params = {"q": q, "epoch": "ns"}
        if db:
            params["db"] = db
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(f"{self.url}/query", data=data, timeout=30) as r:
            return dict(json.loads(r.read()))

    def create_database(self, name: str) -> str:
        self.query(f'CREATE DATABASE "{name}"')
        return name

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


PG_ADMIN_URL = os.environ.get("BOHSENSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """Create a fresh PostgreSQL database for a test and drop it afterwards.

    Yields a SQLAlchemy URL (``postgresql+psycopg://…``). Fails clearly when the server
    at 127.0.0.1:5432 cannot be reached.
    """
    import psycopg

    name = f"bohsense_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(PG_ADMIN_URL)
    url = urllib.parse.urlunsplit(("postgresql+psycopg", parts.netloc, f"/{name}", "", ""))
    try:
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
