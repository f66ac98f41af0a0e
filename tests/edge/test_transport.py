"""The gateway's MQTT transport: TLS client-certificate and protocol settings (checked at
load, naming the key, never echoing a key), and MQTT 5 keeping the session as 3.1.1 does,
on a real Mosquitto."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from bohsense.contracts import topics
from bohsense.edge.errors import ConfigError, UplinkError
from bohsense.edge.preflight import build_transport
from bohsense.edge.settings import GatewaySettings
from bohsense.edge.transport import PahoTransport
from tests.edge.conftest import until
from tests.support.services import Mosquitto

KEY_MATERIAL = "MHcCAQEEIBOHSENSE-NOT-A-REAL-KEY-0123456789abcdef"


def _settings(broker: dict[str, Any], env: dict[str, str] | None = None) -> GatewaySettings:
    return GatewaySettings.from_mapping({"gateway_id": "g", "broker": broker}, env=env or {})


@pytest.fixture
def pem(tmp_path: Path) -> tuple[str, str]:
    cert, key = tmp_path / "gw.crt", tmp_path / "gw.key"
    cert.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    key.write_text(f"-----BEGIN EC PRIVATE KEY-----\n{KEY_MATERIAL}\n-----END EC PRIVATE KEY-----\n")
    return str(cert), str(key)


@pytest.mark.parametrize(
    ("broker", "message"),
    [
        ({"url": "mqtts://h", "tls_cert": "CERT"}, "broker.tls_cert is set but broker.tls_key is not"),
        ({"url": "mqtts://h", "tls_key": "KEY"}, "broker.tls_key is set but broker.tls_cert is not"),
        ({"url": "mqtt://h", "tls_cert": "CERT", "tls_key": "KEY"}, "need an mqtts:// broker.url"),
        ({"url": "mqtts://h", "tls_cert": "CERT", "tls_key": "/nonexistent/gw.key"}, "broker.tls_key:"),
        ({"url": "mqtts://h", "tls_cert": "/nonexistent/gw.crt", "tls_key": "KEY"}, "broker.tls_cert:"),
        ({"protocol": "4"}, "broker.protocol"),
        ({"protocol": "5.0"}, "broker.protocol"),
        ({"protocol": 4}, "broker.protocol"),
        ({"protocol": 3.1}, "broker.protocol"),
        ({"protocol": "5", "session_expiry_s": 0}, "broker.session_expiry_s"),
    ],
)
def test_bad_tls_and_protocol_settings_are_refused_naming_the_key(
    pem: tuple[str, str], broker: dict[str, Any], message: str
) -> None:
    broker = {
        k: {"CERT": pem[0], "KEY": pem[1]}.get(v, v) if isinstance(v, str) else v for k, v in broker.items()
    }
    with pytest.raises(ConfigError) as exc:
        _settings(broker)
    assert message in str(exc.value)
    assert KEY_MATERIAL not in str(exc.value)


def test_tls_and_protocol_settings_from_the_file_and_the_environment(pem: tuple[str, str]) -> None:
    s = _settings({"url": "mqtts://h", "tls_cert": pem[0], "tls_key": pem[1], "protocol": "5"})
    assert (s.broker.tls_cert, s.broker.tls_key, s.broker.protocol) == (*pem, "5")
    assert s.broker.session_expiry_s == 7 * 24 * 3600
    assert _settings({}).broker.protocol == "3.1.1"
    assert _settings({"protocol": 5}).broker.protocol == "5"  # TOML `protocol = 5`
    env = {
        "BOHSENSE_EDGE_BROKER_URL": "mqtts://h",
        "BOHSENSE_EDGE_BROKER_TLS_CERT": pem[0],
        "BOHSENSE_EDGE_BROKER_TLS_KEY": pem[1],
        "BOHSENSE_EDGE_BROKER_PROTOCOL": "5",
    }
    s = _settings({}, env)
    assert (s.broker.tls_cert, s.broker.tls_key, s.broker.protocol) == (*pem, "5")


def test_a_key_that_cannot_be_loaded_fails_without_its_contents(pem: tuple[str, str], tmp_path: Path) -> None:
    s = _settings({"url": "mqtts://127.0.0.1:1", "tls_cert": pem[0], "tls_key": pem[1]})
    with pytest.raises(UplinkError) as exc:
        build_transport(s, lambda: (b"", 0))
    assert "TLS setup failed" in str(exc.value)
    assert pem[1] in str(exc.value)  # the path is named
    assert KEY_MATERIAL not in str(exc.value)
    cfg = tmp_path / "gw.toml"
    cfg.write_text(
        f'gateway_id = "g"\n[broker]\nurl = "mqtts://127.0.0.1:1"\ntls_cert = "{pem[0]}"\ntls_key = "{pem[1]}"\n'
        f'[outbox]\npath = "{tmp_path}/o.db"\n'
    )
    r = subprocess.run(
        [sys.executable, "-m", "bohsense", "edge", "check-config", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0
    assert "TLS setup failed" in r.stderr
    assert KEY_MATERIAL not in r.stderr + r.stdout


class Recorder:
    def __init__(self) -> None:
        self.connected: list[bool] = []
        self.messages: list[tuple[str, bytes]] = []
        self.acked: list[int] = []

    def on_connected(self, session_present: bool, epoch: int = 0) -> None:
        self.connected.append(session_present)

    def on_connect_failed(self, reason: str) -> None:
        pass

    def on_disconnected(self, reason: str) -> None:
        pass

    def on_puback(self, mid: int) -> None:
        self.acked.append(mid)

    def on_message(self, topic: str, payload: bytes) -> None:
        self.messages.append((topic, payload))


def _transport(broker: Mosquitto, gw: str, protocol: str) -> PahoTransport:
    return PahoTransport(
        client_id=gw, host="127.0.0.1", port=broker.port, keepalive=10, protocol=protocol,
        will_topic=topics.status_topic(gw), will=lambda: (b"lost", 0), reconnect_min_s=0.1, reconnect_max_s=0.2,
    )  # fmt: skip


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_the_session_and_its_queued_commands_survive_a_reconnect(
    mosquitto: Mosquitto, protocol: str
) -> None:
    gw = f"gw-{uuid.uuid4().hex[:8]}"
    loop = asyncio.get_running_loop()
    first, events = _transport(mosquitto, gw, protocol), Recorder()
    first.start(events, loop)
    await until(lambda: events.connected, 10, "the first connection")
    assert events.connected == [False]  # a new session
    first.subscribe(topics.gateway_subscriptions(gw))
    await asyncio.sleep(0.3)  # the SUBACK
    mid = first.publish(topics.readings_topic(gw), b"batch")
    await until(lambda: mid in events.acked, 10, "the PUBACK")
    first.close(5)
    # while the gateway is away, the cloud sends it a command (QoS 1)
    cloud = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"cloud-{gw}", protocol=mqtt.MQTTv5)
    cloud.connect("127.0.0.1", mosquitto.port)
    cloud.loop_start()
    try:
        cloud.publish(topics.cmd_topic(gw), b"command", qos=1).wait_for_publish(5)
    finally:
        cloud.disconnect()
        cloud.loop_stop()
    second, events2 = _transport(mosquitto, gw, protocol), Recorder()
    second.start(events2, loop)
    try:
        await until(lambda: events2.messages, 10, "the command queued in the session")
        assert events2.connected == [True]  # the broker kept the session
        assert events2.messages == [(topics.cmd_topic(gw), b"command")]
    finally:
        second.close(5)


def test_the_transport_refuses_what_the_settings_would() -> None:
    kw: dict[str, Any] = {"client_id": "g", "host": "h", "port": 1, "keepalive": 10, "will_topic": "t"}
    with pytest.raises(UplinkError, match="protocol"):
        PahoTransport(**kw, will=lambda: (b"", 0), protocol="4")
    with pytest.raises(UplinkError, match="both tls_cert and tls_key"):
        PahoTransport(**kw, will=lambda: (b"", 0), tls=True, tls_cert="c")
    with pytest.raises(UplinkError, match="not mqtts"):
        PahoTransport(**kw, will=lambda: (b"", 0), tls_cert="c", tls_key="k")
