from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bohsense.cloud.boh import BohCore


@pytest.fixture
def core(tmp_path: Path) -> Iterator[BohCore]:
    core = BohCore(f"sqlite:///{tmp_path / 'boh.sqlite3'}")
    core.migrate()
    yield core
    core.close()
