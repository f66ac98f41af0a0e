"""Sign-in through a real server: uvicorn serving the app on a free port (in a thread of
this process, so the app is not imported again), a user signs in over HTTP and calls the
API with the access token."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import uvicorn

from bohsense.cloud.api import create_app
from bohsense.cloud.boh import BohCore
from tests.support.services import free_port

from .conftest import TOKEN, FakeTimeSeries, fast_authority


def test_a_user_signs_in_over_http_and_calls_the_api(copied_core: BohCore, tmp_path: Path) -> None:
    authority = fast_authority(copied_core)
    authority.add_user("ann", role="technician", password="a good password")
    app = create_app(core=copied_core, tsdb=FakeTimeSeries(), api_token=TOKEN, identity=authority)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get("/alerts").status_code == 401
            r = http.post("/auth/token", data={"grant_type": "password", "username": "ann", "password": "a good password"})  # fmt: skip
            assert r.status_code == 200, r.text
            token = r.json()["access_token"]
            alerts = http.get("/alerts", headers={"Authorization": f"Bearer {token}"})
            assert alerts.status_code == 200, alerts.text
            assert alerts.json() == []
            users = http.get("/users", headers={"Authorization": f"Bearer {token}"})
            assert users.status_code == 403
            assert users.json()["type"].endswith("/insufficient-role")
            assert http.get("/users", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()
