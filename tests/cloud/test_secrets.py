"""Secrets never reach the logs: the cloud run with a broker password and an API token,
first against a broker that accepts them, then one that refuses them."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bohsense.cloud.service import CloudService
from bohsense.cloud.settings import CloudSettings
from tests.support.services import Mosquitto

PASSWORD = "Pw-9f3b7c1e-broker"
TOKEN = "Tk-4a6d2e8f0b1c3d5e-api"


def _leaks(caplog: pytest.LogCaptureFixture) -> list[str]:
    found = []
    for record in caplog.records:
        text = record.getMessage() + " " + " ".join(repr(v) for v in vars(record).values())
        if PASSWORD in text or TOKEN in text:
            found.append(f"{record.name}: {record.getMessage()}")
    return found


async def _run_briefly(settings: CloudSettings, wait_connected: bool) -> None:
    service = CloudService(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    async with asyncio.timeout(30):
        await service.ready.wait()
    assert service.worker is not None
    if wait_connected:
        async with asyncio.timeout(15):
            await service.worker.connected.wait()
    else:
        await asyncio.sleep(2)  # a few refused connection attempts
    stop.set()
    async with asyncio.timeout(20):
        await task


@pytest.mark.parametrize("password", [PASSWORD, "wrong-" + PASSWORD], ids=["accepted", "refused"])
async def test_no_log_line_carries_the_broker_password_or_the_api_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, password: str
) -> None:
    broker = Mosquitto(tmp_path / "broker")
    broker.users = {"bohsense-cloud": PASSWORD}
    broker.start()
    try:
        settings = CloudSettings(
            broker_url=f"mqtt://bohsense-cloud:{password}@127.0.0.1:{broker.port}",
            client_id="secrets-test",
            tsdb_url=f"sqlite:///{tmp_path}/ts.db",
            database_url=f"sqlite:///{tmp_path}/boh.db",
            api_port=0,
            api_token=TOKEN,
        )
        with caplog.at_level(logging.DEBUG):
            await _run_briefly(settings, wait_connected=password == PASSWORD)
    finally:
        broker.stop()
    assert caplog.records, "the service logged nothing: the check would be empty"
    assert any("subscribed" in r.getMessage() for r in caplog.records) or password != PASSWORD
    assert _leaks(caplog) == []
