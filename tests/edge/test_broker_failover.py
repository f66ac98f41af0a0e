"""The nodes of a clustered broker: ``broker.hosts`` validated at load (naming the entry),
and the transport going on to the next node, in order, when a connection is refused or
lost — on real Mosquittos standing in for two nodes."""

from __future__ import annotations

import asyncio
import re
import signal
import tomllib
import uuid
from pathlib import Path
from typing import Any

import pytest

from bohsense.contracts import topics
from bohsense.edge.errors import ConfigError
from bohsense.edge.preflight import build_transport
from bohsense.edge.settings import GatewaySettings
from bohsense.edge.transport import PahoTransport
from tests.edge.conftest import until
from tests.edge.test_transport import Recorder
from tests.support.services import Mosquitto, free_port


def _settings(broker: dict[str, Any], env: dict[str, str] | None = None) -> GatewaySettings:
    return GatewaySettings.from_mapping({"gateway_id": "g", "broker": broker}, env=env or {})


def test_the_scale_out_example_in_the_docs_loads(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    block = re.search(r"```toml\n(.*?)```", doc[doc.index("## Scale-out") :], flags=re.S)
    assert block, "docs/deploy.md's Scale-out section has a [broker] example"
    ca = tmp_path / "ca.crt"
    ca.write_text("")
    raw = tomllib.loads(block.group(1).replace("/etc/bohsense/broker-ca.crt", str(ca)))
    s = GatewaySettings.from_mapping({"gateway_id": "store-0042", **raw}, env={})
    assert s.broker.addresses == (
        ("mqtt-1.example.net", 8883), ("mqtt-2.example.net", 8883), ("mqtt-3.example.net", 8883)
    )  # fmt: skip
    assert (s.broker.protocol, s.broker.tls) == ("5", True)


def test_the_nodes_are_tried_in_order_after_the_url() -> None:
    s = _settings({"url": "mqtts://mqtt-1.example.net", "hosts": ["mqtt-2.example.net:8883", "[::1]:8884"]})
    assert s.broker.addresses == (("mqtt-1.example.net", 8883), ("mqtt-2.example.net", 8883), ("::1", 8884))
    assert _settings({}).broker.addresses == (("127.0.0.1", 1883),)
    env = {"BOHSENSE_EDGE_BROKER_HOSTS": "b:1884, c:1885"}
    assert _settings({"url": "mqtt://a:1883"}, env).broker.addresses == (
        ("a", 1883),
        ("b", 1884),
        ("c", 1885),
    )
    t = build_transport(s, lambda: (b"", 0))
    assert t.address == "mqtts://mqtt-1.example.net:8883"


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        (["mqtt://b:1883"], "broker.hosts[0] 'mqtt://b:1883': must be host:port"),
        (["u:p@b:1883"], "broker.hosts[0] 'u:p@b:1883': must be host:port"),
        (["b:1883/x"], "must be host:port"),
        ([""], "broker.hosts[0] '': must be host:port"),
        (["b:99999"], "broker.hosts[0] 'b:99999'"),
        (["b:1884", "b:1884"], "broker.hosts[1] 'b:1884': b:1884 is listed twice"),
        (["a:1883"], "a:1883 is listed twice (broker.url counts too)"),
        ("b:1884", "broker.hosts"),
    ],
)
def test_a_bad_node_is_refused_naming_the_entry(hosts: Any, message: str) -> None:
    with pytest.raises(ConfigError, match="invalid gateway settings") as info:
        _settings({"url": "mqtt://a:1883", "hosts": hosts})
    assert message in str(info.value)


def _transport(gw: str, ports: list[int]) -> PahoTransport:
    return PahoTransport(
        client_id=gw, host="127.0.0.1", port=ports[0], keepalive=10, hosts=[("127.0.0.1", p) for p in ports[1:]],
        will_topic=topics.status_topic(gw), will=lambda: (b"lost", 0), reconnect_min_s=0.05, reconnect_max_s=0.1,
    )  # fmt: skip


async def test_a_refused_node_is_passed_over_and_a_lost_one_left_for_the_next(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    node_b = Mosquitto(tmp_path / "b").start()
    dead = free_port()  # nothing listens there
    t, events = _transport(f"gw-{uuid.uuid4().hex[:8]}", [dead, node_b.port, mosquitto.port]), Recorder()
    t.start(events, asyncio.get_running_loop())
    try:
        await until(lambda: events.connected, 10, "a connection to the second node")
        assert t.address == f"mqtt://127.0.0.1:{node_b.port}"
        assert t.failovers == 1
        node_b.stop(signal.SIGKILL)  # the node dies under the gateway
        await until(lambda: len(events.connected) == 2, 10, "a connection to the third node")
        assert t.address == f"mqtt://127.0.0.1:{mosquitto.port}"
        assert t.failovers == 2
        mid = t.publish(topics.readings_topic("g"), b"batch")
        await until(lambda: mid in events.acked, 10, "the PUBACK of the third node")
    finally:
        t.close(5)
        node_b.stop()


async def test_one_broker_is_reconnected_to_as_before(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "m").start()
    t, events = _transport(f"gw-{uuid.uuid4().hex[:8]}", [broker.port]), Recorder()
    t.start(events, asyncio.get_running_loop())
    try:
        await until(lambda: events.connected, 10, "the connection")
        broker.stop(signal.SIGKILL)
        broker.start()  # the same port
        await until(lambda: len(events.connected) == 2, 15, "the reconnection")
        assert t.failovers == 0
        assert t.address == f"mqtt://127.0.0.1:{broker.port}"
    finally:
        t.close(5)
        broker.stop()


class Failures(Recorder):
    def __init__(self, transport: list[PahoTransport]) -> None:
        super().__init__()
        self.failed: list[tuple[str, str]] = []  # (the node it came from, reason)
        self._t = transport

    def on_connect_failed(self, reason: str) -> None:
        self.failed.append((self._t[0].address, reason))


async def test_a_node_that_never_answers_the_connect_is_reported_and_passed_over(
    mosquitto: Mosquitto,
) -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)  # the CONNECT, never answered
        await asyncio.sleep(0.2)
        writer.close()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    holder: list[PahoTransport] = []
    events = Failures(holder)
    t = _transport(f"gw-{uuid.uuid4().hex[:8]}", [port, mosquitto.port])
    holder.append(t)
    t.start(events, asyncio.get_running_loop())
    try:
        await until(lambda: events.connected, 10, "a connection to the second node")
        assert events.failed == [
            (f"mqtt://127.0.0.1:{port}", "the connection closed before the broker's CONNACK")
        ]
        assert t.address == f"mqtt://127.0.0.1:{mosquitto.port}"
    finally:
        t.close(5)
        server.close()
