"""A migrated BOH core with the test catalog, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bohsense.cloud.boh import BohCore

from .factory import catalog


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'boh.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def core(db_url: str) -> Iterator[BohCore]:
    boh = BohCore(db_url)
    boh.migrate()
    boh.load_catalog(catalog())
    yield boh
    boh.close()
