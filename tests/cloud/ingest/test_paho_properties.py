"""The worker's MQTT 5 properties behave exactly as paho's own, and are the ones paho builds.

``_paho_properties`` reaches into paho (its modules' name ``Properties``) to cut the cost
of building properties per packet; these tests fail when paho changes under it."""

from __future__ import annotations

import inspect

import paho.mqtt._packet as paho_packet
import paho.mqtt.client as paho_client
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import MQTTException, Properties

from bohsense.cloud.ingest._paho_properties import TABLES, FastProperties, install

PACKETS = [
    PacketTypes.CONNECT,
    PacketTypes.CONNACK,
    PacketTypes.PUBLISH,
    PacketTypes.PUBACK,
    PacketTypes.SUBSCRIBE,
    PacketTypes.SUBACK,
    PacketTypes.DISCONNECT,
]


def _filled(cls: type[Properties], packet: int) -> Properties:
    p = cls(packet)
    if packet == PacketTypes.PUBLISH:
        p.MessageExpiryInterval = 30
        p.ContentType = "application/msgpack"
        p.UserProperty = ("k", "v")
        p.UserProperty = ("k2", "v2")
        p.SubscriptionIdentifier = 7
    elif packet == PacketTypes.CONNECT:
        p.SessionExpiryInterval = 3600
        p.ReceiveMaximum = 1000
    elif packet in (PacketTypes.CONNACK, PacketTypes.PUBACK, PacketTypes.SUBACK, PacketTypes.DISCONNECT):
        p.ReasonString = "because"
    return p


def test_paho_still_sets_up_properties_as_the_fast_ones_assume() -> None:
    stock = Properties(PacketTypes.PUBLISH)
    assert set(vars(stock)) == {"packetType", *TABLES}
    assert "Properties(" in inspect.getsource(paho_packet.decode_publish)
    assert "Properties(PacketTypes.PUBACK)" in inspect.getsource(paho_client.Client)


@pytest.mark.parametrize("packet", PACKETS)
def test_fast_properties_encode_decode_and_print_as_paho_does(packet: int) -> None:
    fast, stock = _filled(FastProperties, packet), _filled(Properties, packet)
    assert fast.pack() == stock.pack()
    assert (str(fast), fast.json(), fast.isEmpty()) == (str(stock), stock.json(), stock.isEmpty())
    wire = stock.pack()
    back, used = FastProperties(packet).unpack(wire)
    ref, ref_used = Properties(packet).unpack(wire)
    assert (back.json(), used) == (ref.json(), ref_used)
    fast.clear()
    assert fast.isEmpty()
    assert fast.pack() == Properties(packet).pack()


def test_fast_properties_refuse_what_paho_refuses() -> None:
    p = FastProperties(PacketTypes.PUBACK)
    with pytest.raises(MQTTException):
        p.SessionExpiryInterval = 5  # not a PUBACK property
    with pytest.raises(MQTTException):
        FastProperties(PacketTypes.CONNECT).ReceiveMaximum = 0
    twice = Properties(PacketTypes.PUBLISH)
    twice.ContentType = "a"
    wire = twice.pack()
    doubled = bytes([wire[0] * 2]) + wire[1:] + wire[1:]
    with pytest.raises(MQTTException):
        FastProperties(PacketTypes.PUBLISH).unpack(doubled)


def test_install_makes_paho_build_them_for_publish_and_puback() -> None:
    install()
    install()  # idempotent
    assert paho_packet.Properties is FastProperties
    assert paho_client.Properties is FastProperties
    # a PUBLISH with properties, decoded by paho's own packet code
    props = _filled(Properties, PacketTypes.PUBLISH).pack()
    topic = b"t/1"
    body = len(topic).to_bytes(2, "big") + topic + (5).to_bytes(2, "big") + props + b"payload"
    decoded = paho_packet.decode_publish(0x32, body, paho_client.MQTTv5)
    assert isinstance(decoded.properties, FastProperties)
    assert decoded.properties.json() == _filled(Properties, PacketTypes.PUBLISH).json()
    assert (decoded.payload, decoded.mid) == (b"payload", 5)
