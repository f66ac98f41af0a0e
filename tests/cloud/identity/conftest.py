"""A migrated BOH database per test, copied from one migrated once (migrating is most of
a test's time)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bohsense.cloud.boh import BohCore


@pytest.fixture(scope="session")
def _migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("identity") / "template.db"
    core = BohCore(f"sqlite:///{path}")
    core.migrate()
    core.close()
    return path


@pytest.fixture
def db_url(_migrated: Path, tmp_path: Path) -> str:
    """A SQLite URL of a fresh, migrated BOH database."""
    path = tmp_path / "boh.db"
    shutil.copyfile(_migrated, path)
    return f"sqlite:///{path}"
