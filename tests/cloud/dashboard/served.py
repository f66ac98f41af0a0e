"""The app the dashboard's browser tests call: ``uvicorn --factory
tests.cloud.dashboard.served:make_app`` in its own process, over the BOH database and the
time-series file the tests seeded (``BOHSENSE_TEST_DATABASE_URL``, ``BOHSENSE_TEST_TSDB``)."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from bohsense.cloud.api import create_app
from bohsense.cloud.boh import BohCore
from bohsense.cloud.tsdb import SqliteStore


def make_app() -> FastAPI:
    return create_app(
        core=BohCore(os.environ["BOHSENSE_TEST_DATABASE_URL"]),
        tsdb=SqliteStore(Path(os.environ["BOHSENSE_TEST_TSDB"])),
    )
