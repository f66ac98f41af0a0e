"""The app schemathesis calls over HTTP: ``uvicorn --factory tests.cloud.api.served:make_app``
in its own process, over the BOH database and time-series file the test seeded
(``BOHSENSE_TEST_DATABASE_URL``, ``BOHSENSE_TEST_TSDB``, ``BOHSENSE_TEST_TOKEN``)."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from bohsense.cloud.api import create_app
from bohsense.cloud.boh import BohCore
from bohsense.cloud.tsdb import SqliteStore
from bohsense.contracts.schema import GatewayCommand


def make_app() -> FastAPI:
    core = BohCore(os.environ["BOHSENSE_TEST_DATABASE_URL"])
    sent: list[GatewayCommand] = []
    return create_app(
        core=core,
        tsdb=SqliteStore(Path(os.environ["BOHSENSE_TEST_TSDB"])),
        send_command=sent.append,
        api_token=os.environ["BOHSENSE_TEST_TOKEN"],
    )
