"""The app the dashboard's browser tests call: ``uvicorn --factory
tests.cloud.dashboard.served:make_app`` in its own process, over the BOH database and the
time-series file the tests seeded (``BOHSENSE_TEST_DATABASE_URL``, ``BOHSENSE_TEST_TSDB``).

The server is started while the test seeds (importing the cloud takes longer than the
seeding): the app is built once ``BOHSENSE_TEST_SEEDED`` names a file that exists. With
``BOHSENSE_TEST_SIGN_IN=1`` people sign in (``people.JWT_SECRET``)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from bohsense.cloud.api import create_app
from bohsense.cloud.boh import BohCore
from bohsense.cloud.tsdb import SqliteStore

from .people import identity_config

#: how long the factory waits for the seed (s)
SEED_WAIT_S = 60


def make_app() -> FastAPI:
    seeded = os.environ.get("BOHSENSE_TEST_SEEDED")
    deadline = time.monotonic() + SEED_WAIT_S
    while seeded and not Path(seeded).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the test did not seed the database ({seeded} missing)")
        time.sleep(0.05)
    sign_in: dict[str, Any] = (
        {"identity": identity_config()} if os.environ.get("BOHSENSE_TEST_SIGN_IN") == "1" else {}
    )
    return create_app(
        core=BohCore(os.environ["BOHSENSE_TEST_DATABASE_URL"]),
        tsdb=SqliteStore(Path(os.environ["BOHSENSE_TEST_TSDB"])),
        **sign_in,
    )
