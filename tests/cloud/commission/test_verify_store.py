"""A store commissioned end to end on real parts, and its checklist.

The hand-over sheet goes to the API of a running cloud service, which imports it and
makes the gateway's login and ACL in the files of a real Mosquitto (the shipped drop-ins
under Debian's main file, TLS). The gateway (a child process) runs on the configuration
the import generated, with the password the import returned, over TLS, against simulated
devices on pseudo-terminals: one shelf and one condition sensor are there, the second
shelf and sensor are not plugged in, and the RFID reader's address answers nothing. Its
data reaches the BOH core and the time-series store through the cloud's ingest, and the
checklist says what passed, what failed and what is missing, and why.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bohsense.cloud import CloudService, CloudSettings
from bohsense.cloud.broker import CLOUD_USER, hash_password, render_acl
from bohsense.simulators import ConditionDevice, Lane, ShelfDevice
from tests.cloud.commission.sheets import Sections, to_xlsx
from tests.deploy._mosquitto import Certificates, DeployedBroker
from tests.support.services import free_port

CLOUD_PW = "cloud-Passw0rd-for-tests"


def _sheet(broker: DeployedBroker, ca: Path, dev: Path, outbox: Path, reader_port: int) -> Sections:
    return {
        "site": [["site", "name"], ["store-e2e", "Commissioned store"]],
        "gateway": [
            ["gateway", "broker_url", "tls_ca", "outbox_path"],
            ["gw-e2e", f"mqtts://localhost:{broker.tls_port}", str(ca), str(outbox)],
        ],
        "devices": [
            ["device", "kind", "port", "host", "llrp_port"],
            ["shelf-01", "shelf", str(dev / "shelf-01"), "", ""],
            ["shelf-02", "shelf", str(dev / "shelf-02"), "", ""],  # not plugged in
            ["vib-01", "condition", str(dev / "vib-01"), "", ""],
            ["vib-02", "condition", str(dev / "vib-02"), "", ""],  # not plugged in
            ["reader-01", "rfid", "", "127.0.0.1", str(reader_port)],  # nothing listens there
        ],
        "zones": [["reader", "antenna", "zone", "zone_kind"], ["reader-01", "1", "backroom", "backroom"]],
        "skus": [["sku", "name"], ["SKU-COLA", "Cola 330 ml"], ["SKU-CHIPS", "Crisps"]],
        "lanes": [
            ["device", "lane", "sku", "unit_weight_g", "capacity", "tare_g"],
            ["shelf-01", "1", "SKU-COLA", "352", "12", "150"],
            ["shelf-01", "2", "SKU-COLA", "352", "12", "150"],  # holds another SKU (528 g units)
            ["shelf-02", "1", "SKU-CHIPS", "158", "20", "150"],
        ],
        "assets": [
            ["asset", "name", "sensor", "machine_class", "rpm"],
            ["cooler-01", "Cooler compressor", "vib-01", "small", "2900"],
            ["hvac-01", "HVAC fan", "vib-02", "group2-rigid", "1450"],
        ],
    }


def _start_edge(config: Path, log_path: Path, password: str) -> subprocess.Popen[bytes]:
    """The gateway as a child process, its password in its environment as the unit gives it."""
    env = {**os.environ, "BOHSENSE_EDGE_BROKER_PASSWORD": password}
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bohsense", "edge", "run", "--config", str(config)],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env,
        )  # fmt: skip


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[tuple[CloudService, DeployedBroker, Certificates]]:
    certs = Certificates(tmp_path / "certs")
    broker = DeployedBroker(tmp_path / "broker", certs, client_certs=False)
    broker.passwd.write_text(f"{CLOUD_USER}:{hash_password(CLOUD_PW)}\n")
    broker.acl.write_text(render_acl([]))
    broker.start()
    settings = CloudSettings(
        broker_url=f"mqtt://{CLOUD_USER}:{CLOUD_PW}@127.0.0.1:{broker.local_port}",
        client_id=f"cloud-{uuid.uuid4().hex[:6]}",
        tsdb_url=f"sqlite:///{tmp_path / 'ts.sqlite3'}",
        database_url=f"sqlite:///{tmp_path / 'boh.sqlite3'}",
        api_port=0,
        broker_passwd_file=broker.passwd,
        broker_acl_file=broker.acl,
    )
    service = CloudService(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        async with asyncio.timeout(30):
            while not service.ready.is_set() and not task.done():  # noqa: ASYNC110 - or the task's end
                await asyncio.sleep(0.05)
        assert service.ready.is_set(), f"cloud service failed: {task.exception()!r}\n{broker.output()}"
        yield service, broker, certs
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        broker.stop()


async def test_a_commissioned_store_reports_what_is_plugged_in_and_says_what_is_not(
    tmp_path: Path, cloud: tuple[CloudService, DeployedBroker, Certificates]
) -> None:
    service, broker, certs = cloud
    api = f"http://127.0.0.1:{service.api_port}/api/v1"
    dev = tmp_path / "dev"
    dev.mkdir()
    sheet = to_xlsx(_sheet(broker, certs.ca, dev, tmp_path / "outbox.sqlite3", free_port()))
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.get(f"{api}/commission/store-e2e/checklist")
        assert r.status_code == 404, r.text
        r = await client.post(
            f"{api}/commission/store-e2e/import",
            content=sheet,
            headers={"content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        )
        assert r.status_code == 200, r.text
        answer = r.json()
    creds = answer["credentials"]
    assert creds["username"] == "gw-e2e"
    assert creds["password"] not in answer["gateway_config"]
    assert creds["password"] not in broker.passwd.read_text()  # a hash only
    assert "user gw-e2e" in broker.acl.read_text()
    broker.reload()

    config = tmp_path / "gateway.toml"
    config.write_text(answer["gateway_config"])
    shelf = ShelfDevice(
        "shelf-01", lanes=[Lane(352.0, 5, tare_g=150.0), Lane(528.0, 3, tare_g=150.0)], seed=1
    )
    sensor = ConditionDevice("vib-01", seed=1)
    shelf.start(link=dev / "shelf-01")
    sensor.start(link=dev / "vib-01")
    edge = _start_edge(config, tmp_path / "edge.log", creds["password"])
    expected = {
        ("gateway", "gw-e2e"): "pass",
        ("device", "shelf-01"): "pass",
        ("device", "shelf-02"): "missing",
        ("device", "vib-01"): "pass",
        ("device", "vib-02"): "missing",
        ("device", "reader-01"): "fail",
        ("lane", "shelf-01.lane-1"): "pass",
        ("lane", "shelf-01.lane-2"): "fail",
        ("lane", "shelf-02.lane-1"): "missing",
        ("asset", "cooler-01"): "pass",
        ("asset", "hvac-01"): "missing",
    }
    try:
        statuses: dict[tuple[str, str], str] = {}
        body: dict[str, Any] = {}
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=30) as client:
            while statuses != expected:
                assert edge.poll() is None, (tmp_path / "edge.log").read_text()
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"checklist {statuses} != {expected}\n{(tmp_path / 'edge.log').read_text()[-3000:]}"
                    )
                await asyncio.sleep(0.5)
                r = await client.get(f"{api}/commission/store-e2e/checklist")
                assert r.status_code == 200, r.text
                body = r.json()
                statuses = {(i["check"], i["subject"]): i["status"] for i in body["items"]}
            html = (await client.get(f"{api}/commission/store-e2e/checklist", params={"format": "html"})).text
    finally:
        edge.terminate()
        edge.wait(20)
        shelf.stop()
        sensor.stop()
    reasons = {(i["check"], i["subject"]): i["reason"] for i in body["items"]}
    assert body["ok"] is False
    assert body["summary"] == {"pass": 5, "fail": 2, "missing": 4}
    assert "5 × 352 g" in reasons[("lane", "shelf-01.lane-1")]
    assert "not a whole number of units" in reasons[("lane", "shelf-01.lane-2")]
    (lane2,) = [i for i in body["items"] if i["subject"] == "shelf-01.lane-2"]
    assert 4.4 < lane2["detail"]["units"] < 4.6  # 3 units of 528 g read as the planned 352 g ones
    assert "cannot connect" in reasons[("device", "reader-01")]
    assert "none of its 1 lanes" in reasons[("device", "shelf-02")]
    assert 'data-subject="shelf-01.lane-2" data-status="fail"' in html
    assert "<script" not in html
    assert "http" not in html.split("<body>")[1]  # self-contained: nothing to fetch
    assert creds["password"] not in (tmp_path / "edge.log").read_text()
