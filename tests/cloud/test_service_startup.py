"""Start-up failures of the cloud service: the API's port is bound before anything else
starts, and a failure is one clear log line and a documented exit code."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from bohsense.cloud.cli import settings_error
from bohsense.cloud.service import EXIT_CONFIG, EXIT_STARTUP, CloudService
from bohsense.cloud.settings import CloudSettings
from bohsense.contracts.sdnotify import Notifier
from tests.cloud.tsdb._data import unique
from tests.deploy._notify import NotifySocket
from tests.support.services import Mosquitto


@pytest.fixture
def taken_port() -> Iterator[int]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    yield holder.getsockname()[1]
    holder.close()


def _settings(tmp_path: Path, broker: str, port: int, **extra: object) -> CloudSettings:
    return CloudSettings(
        broker_url=broker,
        client_id=unique("startup"),
        tsdb_url=f"sqlite:///{tmp_path}/ts.db",
        database_url=f"sqlite:///{tmp_path}/boh.db",
        api_port=port,
        **extra,  # type: ignore[arg-type]
    )


async def test_a_taken_api_port_stops_the_start_before_ingest(
    mosquitto: Mosquitto, tmp_path: Path, taken_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    service = CloudService(_settings(tmp_path, mosquitto.url, taken_port))
    started = time.monotonic()
    with caplog.at_level(logging.INFO):
        async with asyncio.timeout(10):
            code = await service.run()
    assert code == EXIT_STARTUP
    assert time.monotonic() - started < 5
    assert service.worker is None  # nothing was ingested with no API
    assert service.store is None  # nor anything opened
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        f"cannot start: the API cannot listen on 127.0.0.1:{taken_port}: [Errno 98] Address already in use"
    ]
    assert errors[0].exc_info is None  # one line, no traceback


async def test_an_invalid_catalog_is_a_settings_error(mosquitto: Mosquitto, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text('[[gateways]]\nid = "gw-1"\nsite = "nowhere"\n')
    service = CloudService(_settings(tmp_path, mosquitto.url, 0, catalog=catalog))
    async with asyncio.timeout(20):
        assert await service.run() == EXIT_CONFIG
    assert service.worker is None


def test_the_cli_exits_3_with_one_line_when_the_port_is_taken(tmp_path: Path, taken_port: int) -> None:
    env = {**os.environ, "BOHSENSE_CLOUD_CLIENT_ID": unique("cli")}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "bohsense",
            "cloud",
            "run",
            "--broker",
            "mqtt://127.0.0.1:1",
            "--tsdb",
            f"sqlite:///{tmp_path}/ts.db",
            "--database",
            f"sqlite:///{tmp_path}/boh.db",
            "--api-port",
            str(taken_port),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 3, r.stderr
    errors = [line for line in r.stderr.splitlines() if "error" in line.lower() or "Traceback" in line]
    assert len(errors) == 1, r.stderr
    assert f"the API cannot listen on 127.0.0.1:{taken_port}" in errors[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_database_not_reachable_is_waited_for_and_a_stop_then_is_clean(
    mosquitto: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead = _free_port()  # nothing listens there
    settings = _settings(tmp_path, mosquitto.url, 0).model_copy(
        update={"database_url": f"postgresql+psycopg://boh:s3cret-pw@127.0.0.1:{dead}/boh"}
    )
    notify = NotifySocket(tmp_path)
    service = CloudService(settings, notifier=Notifier(notify.address))
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO):
        async with asyncio.timeout(30):
            task = asyncio.create_task(service.run(stop))
            while not any("not reachable yet" in r.getMessage() for r in caplog.records):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # at least one retry
            # the API already answers: alive, not ready, and says what it waits for
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.api_port}") as http:
                alive = await http.get("/api/v1/healthz")
                ready = await http.get("/api/v1/readyz")
                other = await http.get("/api/v1/alerts")
            stop.set()
            code = await task
    assert code == 0
    assert alive.status_code == 200
    assert alive.json() == {"alive": True, "starting": True}
    assert ready.status_code == 503
    assert ready.json()["not_ready"] == ["broker", "database"]
    assert ready.json()["checks"]["tsdb"] is True
    assert ready.json()["detail"].startswith("starting: waiting for the BOH database")
    assert "s3cret-pw" not in ready.text
    assert other.status_code == 503
    assert other.headers["content-type"] == "application/problem+json"
    assert other.headers["retry-after"] == "5"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "s3cret-pw" not in text
    warnings = [r for r in caplog.records if "not reachable yet" in r.getMessage()]
    assert len(warnings) >= 2
    assert all(r.exc_info is None for r in caplog.records)
    assert f"BOH database postgresql+psycopg://boh:***@127.0.0.1:{dead}/boh not reachable yet" in text
    assert any(
        r.getMessage().startswith("stopped while starting: still waiting for the BOH database")
        for r in caplog.records
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # systemd's status says what the start waits for; a stop then says STOPPING=1, never READY=1
    notify.wait_for(lambda m: "STOPPING" in m, 5, "STOPPING=1")
    said = [m for _, m in notify.snapshot()]
    notify.close()
    waiting = f"starting: waiting for the BOH database postgresql+psycopg://boh:***@127.0.0.1:{dead}/boh"
    assert any(m.get("STATUS", "").startswith(waiting) for m in said), said
    assert not any("READY" in m for m in said)
    assert "s3cret-pw" not in str(said)


def test_sigterm_while_the_time_series_store_is_unreachable_exits_0_with_one_line(tmp_path: Path) -> None:
    dead = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOHSENSE_CLOUD_")}
    notify = NotifySocket(None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bohsense", "cloud", "run", "--api-port", "0",
         "--broker", "mqtt://127.0.0.1:1", "--tsdb", f"http://u:pw-secret@127.0.0.1:{dead}/db",
         "--database", f"sqlite:///{tmp_path}/boh.db"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env={**env, **notify.env(2_000_000)}, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 30
    while "not reachable yet" not in seen and time.monotonic() < deadline:
        seen += proc.stderr.readline()
    proc.terminate()
    rest = proc.communicate(timeout=30)[1]
    out = seen + rest
    assert proc.returncode == 0, out
    assert "Traceback" not in out
    assert "pw-secret" not in out
    assert "stopped while starting: still waiting for" in out
    said = [m for _, m in notify.snapshot()]
    notify.close()
    shown = f"starting: waiting for the time-series store http://u:***@127.0.0.1:{dead}/db"
    assert any(m.get("STATUS") == shown for m in said), said
    assert any(m.get("STOPPING") == "1" for m in said), said
    assert not any("READY" in m or "WATCHDOG" in m for m in said), said
    assert "pw-secret" not in str(said)


def _one_line_error(**kwargs: object) -> str:
    with pytest.raises(ValidationError) as caught:
        CloudSettings(**kwargs)  # type: ignore[arg-type]
    return settings_error(caught.value)


@pytest.mark.parametrize(
    ("url", "missing"),
    [
        ("influx2://h:8086?org=o&token=tsdb-s3cret", "lacks bucket"),
        ("influx2://h:8086?org=o&bucket=b", "lacks token (or the tsdb-token credential)"),
        ("influx2s://h?token=tsdb-s3cret", "lacks org, bucket"),
        ("influx1://u:tsdb-s3cret@h:8086", "names no database"),
        ("http://:8086/db", "has no host"),
    ],
)
def test_an_influxdb_url_missing_a_part_is_one_line_naming_the_setting_with_the_secret_masked(
    url: str, missing: str
) -> None:
    line = _one_line_error(tsdb_url=url)
    assert line.startswith("tsdb_url (BOHSENSE_CLOUD_TSDB_URL): "), line
    assert missing in line, line
    assert "\n" not in line
    assert "tsdb-s3cret" not in line


def test_the_cli_refuses_an_influxdb_url_without_its_bucket_with_exit_78_and_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOHSENSE_CLOUD_")}
    env["BOHSENSE_CLOUD_TSDB_URL"] = "influx2://influx.example:8086?org=ops&token=tsdb-s3cret"
    r = subprocess.run(
        [sys.executable, "-m", "bohsense", "cloud", "run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 78, r.stderr
    assert r.stderr.count("\n") == 1, r.stderr  # one line, no traceback
    assert r.stderr.startswith(
        "bohsense cloud run: invalid settings: tsdb_url (BOHSENSE_CLOUD_TSDB_URL): InfluxDB 2.x URL"
        " influx2://influx.example:8086?org=ops&token=*** lacks bucket"
    ), r.stderr


def test_an_unknown_cloud_variable_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOHSENSE_CLOUD_DATABSE_URL", "postgresql+psycopg://u:db-s3cret@h/db")
    line = _one_line_error()
    assert line.startswith("environment variable BOHSENSE_CLOUD_DATABSE_URL names no cloud setting"), line
    assert line.endswith("(did you mean BOHSENSE_CLOUD_DATABASE_URL?)"), line
    assert "db-s3cret" not in line


@pytest.mark.parametrize("command", [["migrate"], ["migrate-timeseries", "--tsdb", "sqlite:///ts.db"]])
def test_the_migrations_refuse_an_unknown_cloud_variable_too(tmp_path: Path, command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOHSENSE_CLOUD_")}
    env["BOHSENSE_CLOUD_DATABSE_URL"] = f"sqlite:///{tmp_path}/typo.db"
    r = subprocess.run(
        [sys.executable, "-m", "bohsense", "cloud", *command],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode in (2, 78), r.stderr
    assert (
        "BOHSENSE_CLOUD_DATABSE_URL names no cloud setting (did you mean BOHSENSE_CLOUD_DATABASE_URL?)"
        in r.stderr
    )
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "typo.db").exists()


def test_a_database_url_of_another_backend_is_refused_in_one_line() -> None:
    line = _one_line_error(database_url="mysql://boh:db-s3cret@h/boh")
    assert line == (
        "database_url (BOHSENSE_CLOUD_DATABASE_URL): mysql://boh:***@h/boh: the BOH core runs on"
        " sqlite:/// or postgresql+psycopg://, not mysql"
    )


def test_several_problems_are_still_one_line() -> None:
    line = _one_line_error(batch_max_readings=0, api_port=70000)
    assert "\n" not in line
    assert "batch_max_readings (BOHSENSE_CLOUD_BATCH_MAX_READINGS): " in line
    assert "api_port (BOHSENSE_CLOUD_API_PORT): Input should be less than or equal to 65535; " in line


async def test_a_database_url_of_no_known_driver_is_a_settings_error_in_one_line(
    mosquitto: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, mosquitto.url, 0).model_copy(
        update={"database_url": "postgresql+nosuchdriver://boh:db-s3cret@127.0.0.1/boh"}
    )
    with caplog.at_level(logging.INFO):
        async with asyncio.timeout(20):
            assert await CloudService(settings).run() == EXIT_CONFIG
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is None
    message = errors[0].getMessage()
    assert message.startswith(
        "cannot start: database_url (BOHSENSE_CLOUD_DATABASE_URL) postgresql+nosuchdriver://boh:***@127.0.0.1/boh"
        " cannot be used: "
    ), message
    assert "db-s3cret" not in "\n".join(r.getMessage() for r in caplog.records)
