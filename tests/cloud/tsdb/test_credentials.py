"""InfluxDB refusing the service's credentials is the operator's to fix, never the data's fault.

A real ``influxd`` with ``auth-enabled``: a wrong password stops the start with the config
exit code and one line (password masked); a password changed under a running service makes
its writes ``StorageRefused``, a ``StorageUnavailable`` that ingest retries with back-off
instead of quarantining the batch.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bohsense.cloud.service import EXIT_CONFIG, CloudService
from bohsense.cloud.settings import CloudSettings
from bohsense.cloud.tsdb import StorageRefused, StorageUnavailable, open_store
from tests.cloud.tsdb._data import make_batch, unique
from tests.support.services import InfluxDB, Mosquitto

ADMIN_PW = "adm-Pass-7731"


@pytest.fixture(scope="module")
def secured_influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    server = InfluxDB(tmp_path_factory.mktemp("influx-auth"), auth=True).start()
    server.query(f"CREATE USER admin WITH PASSWORD '{ADMIN_PW}' WITH ALL PRIVILEGES")
    try:
        yield server
    finally:
        server.stop()


def _as_admin(server: InfluxDB, q: str, password: str = ADMIN_PW) -> None:
    auth = urllib.parse.urlencode({"u": "admin", "p": password})
    data = urllib.parse.urlencode({"q": q}).encode()
    with urllib.request.urlopen(f"{server.url}/query?{auth}", data=data, timeout=30) as r:
        assert r.status == 200


async def test_a_wrong_password_is_refused_at_setup_with_the_password_kept_out(
    secured_influx: InfluxDB,
) -> None:
    store = open_store(f"http://admin:wrong-Pw-0042@127.0.0.1:{secured_influx.port}/{unique('db')}")
    try:
        with pytest.raises(StorageRefused) as caught:
            await store.setup()
    finally:
        await store.close()
    assert "401" in str(caught.value)
    assert "wrong-Pw-0042" not in str(caught.value)


async def test_a_password_changed_under_a_running_store_is_retried_not_blamed_on_the_data(
    secured_influx: InfluxDB,
) -> None:
    _as_admin(secured_influx, "CREATE USER writer WITH PASSWORD 'wr1ter-Pass-88'")
    db = unique("db")
    _as_admin(secured_influx, f'CREATE DATABASE "{db}"')
    _as_admin(secured_influx, f'GRANT ALL ON "{db}" TO writer')
    store = open_store(f"http://writer:wr1ter-Pass-88@127.0.0.1:{secured_influx.port}/{db}")
    try:
        await store.setup()  # CREATE DATABASE is refused (not an admin): a warning, not a failure
        assert await store.write([make_batch("gw-auth", 1, 5)]) == 5
        _as_admin(secured_influx, "SET PASSWORD FOR writer = 'rotated-Pass-99'")
        with pytest.raises(StorageRefused) as caught:
            await store.write([make_batch("gw-auth", 2, 5)])
    finally:
        await store.close()
    assert isinstance(caught.value, StorageUnavailable)  # ingest retries it; nothing is quarantined
    assert "wr1ter-Pass-88" not in str(caught.value)


async def test_the_service_refuses_to_start_with_a_wrong_influx_password(
    secured_influx: InfluxDB, mosquitto: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = CloudSettings(
        broker_url=mosquitto.url,
        tsdb_url=f"http://admin:wrong-Pw-0042@127.0.0.1:{secured_influx.port}/boh",
        database_url=f"sqlite:///{tmp_path}/boh.db",
        api_port=0,
    )
    with caplog.at_level(logging.ERROR):
        async with asyncio.timeout(30):
            code = await CloudService(settings).run()
    assert code == EXIT_CONFIG
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "refused the service" in errors[0]
    assert "admin:***@" in errors[0]
    assert "wrong-Pw-0042" not in caplog.text
