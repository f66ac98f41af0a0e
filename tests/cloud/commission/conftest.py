from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bohsense.cloud.boh import BohCore


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty BOH database at the newest migration, made once (migrating takes a second)."""
    path = tmp_path_factory.mktemp("boh") / "migrated.sqlite3"
    core = BohCore(f"sqlite:///{path}")
    core.migrate()
    core.close()
    return path


@pytest.fixture
def core(tmp_path: Path, migrated_db: Path) -> Iterator[BohCore]:
    """A BOH core of this test's own on a copy of the migrated database."""
    path = tmp_path / "boh.sqlite3"
    shutil.copyfile(migrated_db, path)
    core = BohCore(f"sqlite:///{path}")
    yield core
    core.close()
