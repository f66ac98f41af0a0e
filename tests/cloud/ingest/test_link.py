"""The worker's MQTT link (paho on a network thread of its own) against a real Mosquitto:
receive, manual acknowledgement, publish, a lost connection noticed, a refused one
reported, and no reconnecting behind the worker's back."""

from __future__ import annotations

import asyncio

import pytest

from bohsense.cloud.ingest import IngestConfig
from bohsense.cloud.ingest._config import parse_broker_url
from bohsense.cloud.ingest._link import LinkError, MqttLink
from tests.cloud.ingest._harness import publish, until
from tests.cloud.tsdb._data import unique
from tests.support.services import Mosquitto


def _link(broker_url: str, client_id: str, protocol: int, got: list[tuple[str, bytes, int, int]]) -> MqttLink:
    cfg = IngestConfig(broker_url=broker_url, client_id=client_id, mqtt_protocol=protocol)
    return MqttLink(cfg, parse_broker_url(broker_url), lambda *m: got.append(m))


@pytest.mark.parametrize("protocol", [4, 5])
async def test_a_message_is_received_acknowledged_by_hand_and_a_lost_connection_noticed(
    own_mosquitto: Mosquitto, protocol: int
) -> None:
    got: list[tuple[str, bytes, int, int]] = []
    gone = asyncio.Event()
    topic = f"bohsense/test/{unique('t')}"
    async with _link(own_mosquitto.url, unique("link"), protocol, got) as link:
        link.on_disconnected(gone.set)
        granted = await link.subscribe(topic, qos=1)
        assert len(granted) == 1
        link.publish(topic, b"hello")  # to itself, QoS 1, not awaited
        await until(lambda: got, 10, "the message")
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
        own_mosquitto.start()  # with its persistence: the session and its subscription are kept
        await publish(own_mosquitto, [(topic, b"after the restart")])
        await asyncio.sleep(1.0)
        assert len(got) == 1  # a link never reconnects (the worker makes a new one)
        with pytest.raises(LinkError):
            link.check_connected()


@pytest.mark.parametrize("protocol", [4, 5])
async def test_only_what_was_acknowledged_is_not_delivered_again(mosquitto: Mosquitto, protocol: int) -> None:
    client_id, topic = unique("link"), f"bohsense/test/{unique('t')}"
    got: list[tuple[str, bytes, int, int]] = []
    async with _link(mosquitto.url, client_id, protocol, got) as link:
        await link.subscribe(topic, qos=1)
        link.publish(topic, b"one")
        link.publish(topic, b"two")
        await until(lambda: len(got) == 2, 10, "both messages")
        assert [m[1] for m in got] == [b"one", b"two"]
        link.ack([(got[0][2], got[0][3])])  # "two" stays unacknowledged
        await asyncio.sleep(0.2)
    got.clear()
    async with _link(mosquitto.url, client_id, protocol, got) as link:  # the same session
        await until(lambda: len(got) == 1, 10, "the unacknowledged message again")
        await asyncio.sleep(0.3)
        assert [m[1] for m in got] == [b"two"]
        link.ack([(got[0][2], got[0][3])])


async def test_a_broker_that_is_not_there_is_a_link_error() -> None:
    from bohsense.bench.servers import free_port

    with pytest.raises(LinkError, match="cannot connect"):
        async with _link(f"mqtt://127.0.0.1:{free_port()}", unique("link"), 5, []):
            pass


async def test_many_messages_arrive_in_order_and_all_are_acknowledged(mosquitto: Mosquitto) -> None:
    got: list[tuple[str, bytes, int, int]] = []
    topic = f"bohsense/test/{unique('t')}"
    async with _link(mosquitto.url, unique("link"), 5, got) as link:
        await link.subscribe(topic, qos=1)
        for i in range(2000):
            link.publish(topic, str(i).encode())
        acked = 0

        def ack_what_came() -> bool:  # the broker sends no more than Receive Maximum unacknowledged
            nonlocal acked
            link.ack((m[2], m[3]) for m in got[acked:])
            acked = len(got)
            return acked == 2000

        await until(ack_what_came, 20, "2000 messages")
        assert [int(m[1]) for m in got] == list(range(2000))
        link.check_connected()
