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

import pytest

from bohsense.cloud.service import EXIT_CONFIG, EXIT_STARTUP, CloudService
from bohsense.cloud.settings import CloudSettings
from tests.cloud.tsdb._data import unique
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
    service = CloudService(settings)
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO):
        async with asyncio.timeout(30):
            task = asyncio.create_task(service.run(stop))
            while not any("not reachable yet" in r.getMessage() for r in caplog.records):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # at least one retry
            stop.set()
            code = await task
    assert code == 0
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


def test_sigterm_while_the_time_series_store_is_unreachable_exits_0_with_one_line(tmp_path: Path) -> None:
    dead = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOHSENSE_CLOUD_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bohsense", "cloud", "run", "--api-port", "0",
         "--broker", "mqtt://127.0.0.1:1", "--tsdb", f"http://u:pw-secret@127.0.0.1:{dead}/db",
         "--database", f"sqlite:///{tmp_path}/boh.db"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True,
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
