"""The whole loop through the shipped broker configuration: a gateway (the edge agent)
logs in over TLS, with its client certificate and MQTT 5 or with its password and MQTT
3.1.1, the cloud service logs in as bohsense-cloud on the local listener, and every
reading arrives once and is acknowledged back to the gateway through the generated ACL."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bohsense.bench.servers import require_binary
from bohsense.cloud import CloudService, CloudSettings
from bohsense.cloud.broker import create_gateway_identity, render_acl
from bohsense.edge.agent import EdgeAgent
from bohsense.edge.settings import load_settings
from tests.deploy._mosquitto import Certificates, DeployedBroker
from tests.edge.conftest import synthetic, until

CLOUD_PW = "cloud-Passw0rd-for-loop"
READINGS = 2 * 2 * 150  # devices x metrics x limit


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[DeployedBroker]:
    b = DeployedBroker(tmp_path / "broker", Certificates(tmp_path / "certs"))
    b.passwd.parent.mkdir(parents=True, exist_ok=True)
    tool = require_binary("mosquitto_passwd", "mosquitto")
    subprocess.run([tool, "-c", "-b", str(b.passwd), "bohsense-cloud", CLOUD_PW], check=True)
    b.acl.write_text(render_acl([]))  # as at installation: no gateway yet
    b.start()
    yield b
    b.stop()


def _gateway_toml(path: Path, gw: str, broker: DeployedBroker, *, listener: str) -> Path:
    if listener == "cert":
        cert, key = broker.certs.client(gw)
        login = f'protocol = "5"\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
        port = broker.cert_port
    else:
        login = f'protocol = "3.1.1"\nusername = "{gw}"\n'
        port = broker.tls_port
    path.write_text(
        f'gateway_id = "{gw}"\nsite = "site-{gw}"\nstatus_interval_s = 0.5\nshutdown_timeout_s = 5\n'
        f'[broker]\nurl = "mqtts://localhost:{port}"\n{login}tls_ca = "{broker.certs.ca}"\n'
        "reconnect_min_s = 0.1\nreconnect_max_s = 0.5\nresend_after_s = 5\n"
        f'[outbox]\npath = "{path.with_suffix(".sqlite3")}"\n'
        "[batch]\nmax_readings = 100\nmax_delay_ms = 50\n" + synthetic(devices=2, rate_hz=100, limit=150)
    )
    return path


@pytest.mark.parametrize("listener", ["cert", "password"], ids=["client-cert-mqtt5", "password-mqtt311"])
async def test_gateway_to_cloud_over_tls_through_the_shipped_broker(
    broker: DeployedBroker, tmp_path: Path, listener: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = f"store-{listener}"
    creds = create_gateway_identity(gw, passwd_file=broker.passwd, acl_file=broker.acl)
    broker.reload()
    cloud = CloudService(
        CloudSettings(
            broker_url=f"mqtt://bohsense-cloud:{CLOUD_PW}@127.0.0.1:{broker.local_port}",
            mqtt_protocol=5,
            shared_group="ingest",
            client_id=f"ingest-{listener}",
            tsdb_url=f"sqlite:///{tmp_path}/ts.db",
            database_url=f"sqlite:///{tmp_path}/boh.db",
            auto_register_gateways=True,
            api_port=0,
        )
    )
    stop = asyncio.Event()
    cloud_task = asyncio.create_task(cloud.run(stop))
    await until(lambda: cloud.ready.is_set() or cloud_task.done(), 30, "the cloud service")
    assert cloud.ready.is_set(), f"cloud service failed: {cloud_task.exception()!r}\n{broker.output()}"
    # the password comes from the environment, as in production; the certificate listener
    # takes the certificate alone
    env = {"BOHSENSE_EDGE_BROKER_PASSWORD": creds.password} if listener == "password" else {}
    cfg = _gateway_toml(tmp_path / "gw.toml", gw, broker, listener=listener)
    agent = EdgeAgent(load_settings(cfg, env=env))
    agent_task = asyncio.create_task(agent.run())
    try:
        await until(
            lambda: agent.counters().get("connects", 0) >= 1 or agent_task.done(),
            20,
            "the gateway to connect",
        )
        assert not agent_task.done(), agent_task.exception()

        def delivered() -> bool:
            c = agent.counters()
            batched = c.get("readings_batched", 0) >= READINGS and c.get("outbox_depth", 1) == 0
            return batched and cloud.stats().get("readings_stored", 0) >= READINGS

        await until(delivered, 30, f"{READINGS} readings stored and acknowledged back to the gateway")
        stats = cloud.stats()
        assert stats["readings_stored"] == READINGS
        assert stats["duplicates"] == 0
        assert stats["quarantined"] == 0
        assert agent.counters()["connect_failures"] == 0
    finally:
        agent.stop()
        await asyncio.wait_for(agent_task, 15)
        stop.set()
        await asyncio.wait_for(cloud_task, 30)
    # the broker logged the login: protocol (Mosquitto's p5: MQTT 5, p2: 3.1.1), a kept
    # session (c0: no clean start), and the username (the certificate's CN on its listener)
    level = "p5" if listener == "cert" else "p2"
    assert f"as {gw} ({level}, c0, k30, u'{gw}')" in broker.output()
