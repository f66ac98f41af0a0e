"""Real Mosquitto, InfluxDB 1.x, VictoriaMetrics and PostgreSQL for tests.

The servers are the benchmarks' (``bohsense.bench.servers``), on free ports with
temporary data directories; Mosquitto in its durable tuning (persistence on, queue
limits set deliberately). A missing server binary fails the test with the command
that installs it; it is never a skip.
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bohsense.bench.servers import (
    InfluxServer,
    MosquittoServer,
    ServerError,
    VictoriaMetricsServer,
    free_port,
    wait_port,
)

__all__ = ["InfluxDB", "Mosquitto", "VictoriaMetrics", "free_port", "postgres_database", "wait_port"]


class Mosquitto(MosquittoServer):
    """A durable Mosquitto; ``stop(sig)`` then ``start()`` restarts it on the same port."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, durable=True)

    def start(self) -> Mosquitto:
        try:
            super().start()
        except ServerError as exc:
            pytest.fail(str(exc))
        return self


class InfluxDB(InfluxServer):
    def start(self) -> InfluxDB:
        try:
            super().start()
        except ServerError as exc:
            pytest.fail(str(exc))
        return self


class VictoriaMetrics(VictoriaMetricsServer):
    def start(self) -> VictoriaMetrics:
        try:
            super().start()
        except ServerError as exc:
            pytest.fail(str(exc))
        return self


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
