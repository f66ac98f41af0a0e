"""Shared fixtures: real services on free ports, started once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import InfluxDB, Mosquitto, postgres_database


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A Mosquitto shared by the session; tests use a unique gateway id / topic each."""
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield broker
    broker.stop()


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A Mosquitto of this test's own, for tests that stop or kill the broker."""
    broker = Mosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    """An InfluxDB 1.x shared by the session; tests create a database of their own."""
    server = InfluxDB(tmp_path_factory.mktemp("influxdb")).start()
    yield server
    server.stop()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A SQLAlchemy URL of a fresh PostgreSQL database, dropped after the test."""
    with postgres_database() as url:
        yield url
