"""The app the dashboard's browser tests call: the real API over the BOH database and the
time-series file the tests seeded, served by a real uvicorn on a free port — in a thread of
the test process, which has imported the cloud already (a process of its own would import
it again, the larger part of the start-up on a busy machine)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from bohsense.cloud.api import create_app
from bohsense.cloud.boh import BohCore
from bohsense.cloud.tsdb import SqliteStore

from .people import identity_config

#: how long the server may take to start or stop (s)
START_S = 30


def build_app(database_url: str, tsdb: Path, *, sign_in: bool) -> tuple[FastAPI, BohCore]:
    """The API; with ``sign_in``, people sign in (``people.JWT_SECRET``), else it is open."""
    core = BohCore(database_url)
    identity = identity_config() if sign_in else None
    return create_app(core=core, tsdb=SqliteStore(tsdb), identity=identity), core


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[str]:
    """uvicorn serving ``app`` on 127.0.0.1:``port`` until the block ends; its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(target=server.run, name="dashboard-uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("uvicorn did not start (its log is on stderr)")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(START_S)
        assert not thread.is_alive(), "uvicorn did not stop"
