"""Real servers on free ports with temporary directories: Mosquitto, InfluxDB 1.x and
VictoriaMetrics, for the benchmarks and for the test suite (which wraps these).

Each is started from its Debian package's binary with a generated configuration and
never touches the standard ports. Mosquitto comes in two tunings: ``durable=False``
(the benchmark's: queues in memory, throughput first) and ``durable=True`` (the tests':
persistence on, saved every second, so a restart keeps sessions and queues). Queue
limits are always set deliberately: Mosquitto's default of 1,000 queued messages per
persistent session silently drops QoS 1 messages for a subscriber that falls behind.
"""

from __future__ import annotations

import contextlib
import getpass
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

__all__ = [
    "InfluxServer",
    "MosquittoServer",
    "ServerError",
    "VictoriaMetricsServer",
    "free_port",
    "require_binary",
    "wait_port",
]


class ServerError(RuntimeError):
    """A server is missing or did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_binary(name: str, package: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        raise ServerError(
            f"{name} is not installed: run `apt-get install -y {package}` (scripts/system-deps does)"
        )
    return path


def wait_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerError(f"server exited with code {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise ServerError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def _wait_http(url: str, status: int, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == status:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise ServerError(f"{what} did not answer {url}")
        time.sleep(0.1)


class _Server:
    """A server process with a fixed port: ``stop`` and ``start`` again to restart in place."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, argv: list[str], log_name: str) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.workdir / log_name, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log)
        wait_port(self.port, self.proc)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


class MosquittoServer(_Server):
    """Mosquitto on a free port: anonymous by default; with ``users`` (name → password) it
    requires a login, and with ``acl_file`` it enforces that ACL."""

    def __init__(
        self,
        workdir: Path,
        *,
        durable: bool = False,
        users: dict[str, str] | None = None,
        acl_file: Path | None = None,
    ) -> None:
        super().__init__(workdir)
        self.durable = durable
        self.users = dict(users or {})
        self.acl_file = acl_file

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _config(self) -> str:
        lines = [f"listener {self.port} 127.0.0.1", "max_packet_size 2097152"]
        if self.users:
            # run as whoever started it (as root Mosquitto would otherwise switch to the
            # 'mosquitto' user, which cannot read the test's password file)
            lines += [
                f"user {getpass.getuser()}",
                "allow_anonymous false",
                f"password_file {self.workdir / 'passwd'}",
            ]
        else:
            lines.append("allow_anonymous true")
        if self.acl_file is not None:
            lines.append(f"acl_file {self.acl_file}")
        if self.durable:
            lines += [
                "persistence true",
                f"persistence_location {self.workdir}/",
                "autosave_interval 1",
                "max_queued_messages 0",  # unlimited in count, bounded in bytes
                "max_queued_bytes 1073741824",
                "max_inflight_messages 0",
            ]
        else:
            lines += [
                "persistence false",
                "max_queued_messages 0",
                "max_queued_bytes 0",
                "max_inflight_messages 1000",
            ]
        return "\n".join([*lines, "log_dest stderr", "log_type error", "log_type warning", ""])

    def start(self) -> MosquittoServer:
        exe = require_binary("mosquitto", "mosquitto")
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        if self.users:
            self._write_passwords()
        conf.write_text(self._config())
        self._spawn([exe, "-c", str(conf)], "mosquitto.log")
        return self

    def restart(self) -> None:
        self.stop()
        self.start()

    def _write_passwords(self) -> None:
        tool = require_binary("mosquitto_passwd", "mosquitto")
        path = self.workdir / "passwd"
        path.unlink(missing_ok=True)
        for i, (name, password) in enumerate(self.users.items()):
            flags = ["-c"] if i == 0 else []
            subprocess.run([tool, *flags, "-b", str(path), name, password], check=True, capture_output=True)
        path.chmod(0o600)


class InfluxServer(_Server):
    """InfluxDB 1.x (Debian's ``influxd``)."""

    def __init__(self, workdir: Path, *, auth: bool = False) -> None:
        super().__init__(workdir)
        self.rpc_port = free_port()
        #: ``[http] auth-enabled``: the first ``CREATE USER … WITH ALL PRIVILEGES`` needs none
        self.auth = auth

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> InfluxServer:
        exe = require_binary("influxd", "influxdb")
        d = self.workdir
        d.mkdir(parents=True, exist_ok=True)
        conf = d / "influxdb.conf"
        conf.write_text(
            f'reporting-disabled = true\nbind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{d}/meta"\n[data]\n  dir = "{d}/data"\n  wal-dir = "{d}/wal"\n'
            '  query-log-enabled = false\n  wal-fsync-delay = "0s"\n'
            f'[http]\n  enabled = true\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            f"  max-body-size = 0\n  auth-enabled = {'true' if self.auth else 'false'}\n"
            '[logging]\n  level = "warn"\n[monitor]\n  store-enabled = false\n'
            "[continuous_queries]\n  enabled = false\n"
        )
        self._spawn([exe, "-config", str(conf)], "influxd.log")
        _wait_http(f"{self.url}/ping", 204, "influxd")
        return self

    def restart(self) -> None:
        self.stop()
        self.start()

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
        """Points stored: the first schema's ``reading`` measurement and the current one's
        (a field per metric, so every non-null ``count_*`` column is readings)."""
        res = self.query("SELECT count(*) FROM reading, shelf, condition, reader, device", db)
        series = res["results"][0].get("series") or []
        return sum(int(v) for s in series for v in s["values"][0][1:] if v is not None)


class VictoriaMetricsServer(_Server):
    """VictoriaMetrics: accepts InfluxDB v2 line protocol at ``/api/v2/write`` and exports
    what it stored at ``/api/v1/export`` — a real server for influxdb-client's write path."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> VictoriaMetricsServer:
        exe = require_binary("victoria-metrics", "victoria-metrics")
        self._spawn(
            [
                exe,
                f"-storageDataPath={self.workdir / 'data'}",
                f"-httpListenAddr=127.0.0.1:{self.port}",
                "-retentionPeriod=100y",
                "-search.latencyOffset=0s",
                "-loggerLevel=ERROR",
            ],
            "vm.log",
        )
        _wait_http(f"{self.url}/health", 200, "victoria-metrics")
        return self
