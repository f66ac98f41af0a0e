"""The system under test: a simulated store on real Mosquitto, InfluxDB and SQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.services import InfluxDB, Mosquitto, postgres_database
from tests.system.harness import StoreSystem


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'boh.sqlite3'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
async def store_system(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB, database_url: str
) -> AsyncIterator[StoreSystem]:
    system = StoreSystem(tmp_path, mosquitto.url, influxdb, database_url)
    try:
        yield await system.start()
    finally:
        await system.close()
