"""The MQTT link's reach under aiomqtt, checked against the installed version: the private
attributes ``_link`` relies on exist with the shape it uses, and a real Mosquitto round trip
(receive, manual ack, publish, disconnect noticed) works through them."""

from __future__ import annotations

import asyncio
import inspect

import aiomqtt
import paho.mqtt.client as paho
import pytest

from bohsense.cloud.ingest import IngestConfig
from bohsense.cloud.ingest._config import parse_broker_url
from bohsense.cloud.ingest._link import LinkError, MqttLink
from tests.cloud.ingest._harness import until
from tests.cloud.tsdb._data import unique
from tests.support.services import Mosquitto


async def test_aiomqtt_still_has_what_the_link_reaches_under_it() -> None:
    client = aiomqtt.Client("127.0.0.1", 1)
    assert isinstance(client._client, paho.Client), "aiomqtt.Client._client is no longer the paho client"
    assert isinstance(client._disconnected, asyncio.Future), (
        "aiomqtt.Client._disconnected is no longer a future"
    )
    assert not client._disconnected.done()
    for name, params in (("manual_ack_set", ["on"]), ("ack", ["mid", "qos"])):
        method = getattr(paho.Client, name)
        assert list(inspect.signature(method).parameters)[1:] == params, name
    publish = inspect.signature(paho.Client.publish).parameters
    assert {"topic", "payload", "qos", "retain"} <= set(publish)
    assert isinstance(inspect.getattr_static(paho.Client, "on_message"), property)


@pytest.mark.parametrize("protocol", [4, 5])
async def test_a_message_is_received_acknowledged_by_hand_and_a_lost_connection_noticed(
    own_mosquitto: Mosquitto, protocol: int
) -> None:
    cfg = IngestConfig(broker_url=own_mosquitto.url, client_id=unique("link"), mqtt_protocol=protocol)
    got: list[tuple[str, bytes, int, int]] = []
    arrived, gone = asyncio.Event(), asyncio.Event()

    def deliver(topic: str, payload: bytes, mid: int, qos: int) -> None:
        got.append((topic, payload, mid, qos))
        arrived.set()

    topic = f"bohsense/test/{unique('t')}"
    link = MqttLink(cfg, parse_broker_url(cfg.broker_url), deliver)
    async with link:
        link.on_disconnected(gone.set)
        granted = await link.subscribe(topic, qos=1)
        assert len(granted) == 1
        link.publish(topic, b"hello")  # to itself, QoS 1, not awaited
        async with asyncio.timeout(10):
            await arrived.wait()
        ((t, payload, mid, qos),) = got
        assert (t, payload, qos) == (topic, b"hello", 1)
        assert mid > 0
        link.ack([(mid, qos)])
        link.check_connected()  # still connected: no error
        own_mosquitto.stop()
        async with asyncio.timeout(10):
            await gone.wait()
        with pytest.raises(LinkError, match="disconnected"):
            link.check_connected()
        own_mosquitto.start()


@pytest.mark.parametrize("protocol", [4, 5])
async def test_only_what_was_acknowledged_is_not_delivered_again(mosquitto: Mosquitto, protocol: int) -> None:
    cfg = IngestConfig(broker_url=mosquitto.url, client_id=unique("link"), mqtt_protocol=protocol)
    topic = f"bohsense/test/{unique('t')}"
    got: list[tuple[bytes, int, int]] = []

    def deliver(_topic: str, payload: bytes, mid: int, qos: int) -> None:
        got.append((payload, mid, qos))

    async with MqttLink(cfg, parse_broker_url(cfg.broker_url), deliver) as link:
        await link.subscribe(topic, qos=1)
        link.publish(topic, b"one")
        link.publish(topic, b"two")
        await until(lambda: len(got) == 2, 10, "both messages")
        assert [p for p, _, _ in got] == [b"one", b"two"]
        link.ack([(got[0][1], got[0][2])])  # "two" stays unacknowledged
        await asyncio.sleep(0.2)
    got.clear()
    async with MqttLink(cfg, parse_broker_url(cfg.broker_url), deliver) as link:  # the same session
        await until(lambda: len(got) == 1, 10, "the unacknowledged message again")
        await asyncio.sleep(0.3)
        assert [p for p, _, _ in got] == [b"two"]
        link.ack([(got[0][1], got[0][2])])
