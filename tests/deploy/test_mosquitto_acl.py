"""The shipped broker ACL (deploy/mosquitto.acl) on a real Mosquitto, for every channel of
the topic table: what each side must be able to do is allowed, everything else denied."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from bohsense.contracts import topics
from bohsense.contracts.asyncapi import mosquitto_acl
from tests.support.services import Mosquitto

ROOT = Path(__file__).resolve().parents[2]
ACL = ROOT / "deploy" / "mosquitto.acl"
USERS = {"bohsense-cloud": "cloud-pw-Vq7t", "store-1": "store1-pw-Kd9w", "store-2": "store2-pw-Lm3x"}


def test_the_shipped_acl_is_the_generated_one() -> None:
    assert ACL.read_text() == mosquitto_acl(), (
        "deploy/mosquitto.acl is stale: run `bohsense contracts acl > deploy/mosquitto.acl`"
    )


class Peer:
    """A logged-in MQTT 5 client that records what it receives and its SUBACK/PUBACK codes."""

    def __init__(self, port: int, user: str) -> None:
        self.user = user
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.suback: queue.Queue[list[ReasonCode]] = queue.Queue()
        self.puback: queue.Queue[ReasonCode] = queue.Queue()
        self.connected = threading.Event()
        self.disconnects = 0
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"{user}-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5
        )
        c.username_pw_set(user, USERS[user])
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = lambda _c, _u, m: self.received.put((m.topic, m.payload))
        c.on_subscribe = lambda _c, _u, _mid, codes, _p: self.suback.put(list(codes))
        c.on_publish = lambda _c, _u, _mid, code, _p: self.puback.put(code)
        self.client = c
        c.connect("127.0.0.1", port)
        c.loop_start()
        assert self.connected.wait(10), f"{user} could not connect"

    def _on_connect(
        self, _c: mqtt.Client, _u: object, _f: object, code: ReasonCode, _p: Properties | None
    ) -> None:
        assert not code.is_failure, f"{self.user} refused: {code}"
        self.connected.set()

    def _on_disconnect(self, *_args: object) -> None:
        self.disconnects += 1

    def subscribe(self, topic_filter: str) -> bool:
        self.client.subscribe(topic_filter, qos=1)
        codes = self.suback.get(timeout=10)
        return not codes[0].is_failure

    def publish(self, topic: str) -> tuple[bytes, bool]:
        payload = uuid.uuid4().bytes
        self.client.publish(topic, payload, qos=1)
        code = self.puback.get(timeout=10)
        return payload, not code.is_failure

    def got(self, payload: bytes, timeout: float) -> bool:
        try:
            while True:
                _, p = self.received.get(timeout=timeout)
                if p == payload:
                    return True
        except queue.Empty:
            return False

    def drain(self, seconds: float) -> set[bytes]:
        """Every payload received within ``seconds``."""
        deadline = time.monotonic() + seconds
        out: set[bytes] = set()
        while (left := deadline - time.monotonic()) > 0:
            try:
                out.add(self.received.get(timeout=left)[1])
            except queue.Empty:
                break
        return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path_factory.mktemp("acl-broker"))
    server.users = USERS
    server.acl_file = ACL
    server.start()
    yield server
    server.stop()


@pytest.fixture
def peers(broker: Mosquitto) -> Iterator[dict[str, Peer]]:
    ps = {u: Peer(broker.port, u) for u in USERS}
    yield ps
    for p in ps.values():
        p.close()


def _receiver_filter(channel: topics.Channel, gateway: str) -> str:
    return channel.wildcard if channel.sender == "gateway" else channel.topic(gateway)


@pytest.mark.parametrize("channel", topics.CHANNELS, ids=lambda c: c.kind)
def test_every_channel_flows_from_its_sender_to_its_receiver(
    peers: dict[str, Peer], channel: topics.Channel
) -> None:
    sender, receiver = (
        ("store-1", "bohsense-cloud") if channel.sender == "gateway" else ("bohsense-cloud", "store-1")
    )
    assert peers[receiver].subscribe(_receiver_filter(channel, "store-1"))
    payload, accepted = peers[sender].publish(channel.topic("store-1"))
    assert accepted
    assert peers[receiver].got(payload, timeout=5)
    assert peers[sender].disconnects == 0


def test_the_cloud_reads_the_fleet_through_a_shared_subscription(peers: dict[str, Peer]) -> None:
    assert peers["bohsense-cloud"].subscribe(topics.shared("ingest", topics.ALL_READINGS))
    payload, accepted = peers["store-2"].publish(topics.readings_topic("store-2"))
    assert accepted
    assert peers["bohsense-cloud"].got(payload, timeout=5)


@pytest.mark.parametrize(
    "channel", [c for c in topics.CHANNELS if c.sender == "gateway"], ids=lambda c: c.kind
)
def test_a_gateway_cannot_publish_as_another(peers: dict[str, Peer], channel: topics.Channel) -> None:
    assert peers["bohsense-cloud"].subscribe(channel.wildcard)
    payload, accepted = peers["store-1"].publish(channel.topic("store-2"))
    assert not accepted
    assert not peers["bohsense-cloud"].got(payload, timeout=1)


@pytest.mark.parametrize("channel", [c for c in topics.CHANNELS if c.sender == "cloud"], ids=lambda c: c.kind)
def test_a_gateway_cannot_forge_what_the_cloud_sends(peers: dict[str, Peer], channel: topics.Channel) -> None:
    assert peers["store-1"].subscribe(channel.topic("store-1"))
    payload, accepted = peers["store-2"].publish(channel.topic("store-1"))
    assert not accepted
    own_payload, own_accepted = peers["store-1"].publish(channel.topic("store-1"))
    assert not own_accepted
    assert not peers["store-1"].got(payload, timeout=1)
    assert own_payload  # the gateway's own attempt was refused too


@pytest.mark.parametrize(
    "topic_filter",
    [
        topics.cmd_topic("store-2"),
        topics.ack_topic("store-2"),
        topics.ALL_READINGS,
        topics.status_topic("store-2"),
        "bohsense/#",
        "#",
    ],
)
def test_a_gateway_cannot_read_what_is_not_its_own(peers: dict[str, Peer], topic_filter: str) -> None:
    # Mosquitto grants the SUBSCRIBE and checks read access per message: nothing of
    # another store may arrive, whichever filter the gateway asks for.
    peers["store-1"].subscribe(topic_filter)
    sent = [
        peers["bohsense-cloud"].publish(topics.cmd_topic("store-2"))[0],
        peers["bohsense-cloud"].publish(topics.ack_topic("store-2"))[0],
        peers["store-2"].publish(topics.readings_topic("store-2"))[0],
        peers["store-2"].publish(topics.status_topic("store-2"))[0],
    ]
    assert not peers["store-1"].drain(1.0) & set(sent)


@pytest.mark.parametrize(
    "channel", [c for c in topics.CHANNELS if c.sender == "gateway"], ids=lambda c: c.kind
)
def test_the_cloud_cannot_publish_as_a_gateway(peers: dict[str, Peer], channel: topics.Channel) -> None:
    _, accepted = peers["bohsense-cloud"].publish(channel.topic("store-1"))
    assert not accepted


def test_a_foreign_topic_is_denied_to_everyone(peers: dict[str, Peer]) -> None:
    for user in USERS:
        _, accepted = peers[user].publish("other/topic")
        assert not accepted, user
