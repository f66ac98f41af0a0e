"""The worker's one MQTT link: connect, subscribe, receive, acknowledge, publish.

aiomqtt connects (its context manager, TLS, MQTT 5 properties) and drives the paho client
under it from the event loop's socket callbacks, so nothing crosses a thread. Three things
the worker needs are not in aiomqtt's public API, so this module, and only this one,
reaches under it (``tests/cloud/ingest/test_link.py`` fails when the installed aiomqtt no
longer has them):

- ``Client._client``, the paho client: ``manual_ack_set(True)`` and ``ack(mid, qos)``
  (aiomqtt acknowledges every message on receipt; the worker acknowledges only what is
  committed), ``on_message`` (messages go straight to the worker's inbox instead of through
  aiomqtt's queue and iterator, a future per message) and ``publish`` without waiting for
  the PUBACK (aiomqtt's ``publish`` awaits it: a round trip per commit);
- ``Client._disconnected``, the future aiomqtt settles when the connection ends, with the
  reason: the worker checks it before every step and wakes on it.

Everything else here is aiomqtt's and paho's public API.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Self, cast

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.reasoncodes import ReasonCode

from bohsense.cloud.ingest._config import BrokerAddress, IngestConfig
from bohsense.cloud.ingest._health import ClientIdInUse, taken_over

__all__ = ["Deliver", "LinkError", "MqttLink", "PublishRefused"]

#: a connection problem: the worker reconnects (``SubscriptionRefused`` is one too)
LinkError = aiomqtt.MqttError
#: what receives each message: (topic, payload, mid, qos), on the event loop
Deliver = Callable[[str, bytes, int, int], None]


class PublishRefused(Exception):
    """The MQTT client refused to queue a message (not connected, queue full…)."""


class MqttLink:
    """One MQTT connection of the worker (``async with``); a new link for every connection."""

    def __init__(self, config: IngestConfig, broker: BrokerAddress, deliver: Deliver) -> None:
        self._client_id = config.client_id
        self._client = _make_client(config, broker)
        self._paho: paho.Client = self._client._client

        def on_message(_c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
            deliver(msg.topic, cast(bytes, msg.payload), msg.mid, msg.qos)

        self._paho.manual_ack_set(True)  # before connecting: paho reads it per message
        self._paho.on_message = on_message

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._client.__aexit__(exc_type, exc, tb)

    def on_disconnected(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the event loop) when this connection ends; after connecting."""
        self._client._disconnected.add_done_callback(lambda fut: _settled(fut, callback))

    async def subscribe(self, topic_filter: str, qos: int) -> Sequence[int | ReasonCode]:
        """The SUBACK's codes for ``topic_filter``."""
        return await self._client.subscribe(topic_filter, qos=qos)

    def check_connected(self) -> None:
        """Raise ``LinkError`` (``ClientIdInUse`` when another client took the session) once the
        connection has ended."""
        fut = self._client._disconnected
        if not fut.done():
            return
        if not fut.cancelled() and taken_over(fut.exception()):
            raise ClientIdInUse(
                f"another MQTT client connected with client id {self._client_id!r} and took over"
                " this worker's session: give every worker its own client id (BOHSENSE_CLOUD_CLIENT_ID;"
                " the default is unique per host and API port) and let them share the load through a"
                " shared subscription (BOHSENSE_CLOUD_SHARED_GROUP)"
            )
        raise LinkError("disconnected from the broker; unacknowledged messages will be redelivered")

    def ack(self, acks: Iterable[tuple[int, int]]) -> None:
        """Acknowledge received messages by ``(mid, qos)``, in the order given."""
        ack = self._paho.ack
        for mid, qos in acks:
            ack(mid, qos)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Queue a message; paho sends it (and any retry) without the caller waiting."""
        info = self._paho.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise PublishRefused(paho.error_string(info.rc))


def _settled(fut: asyncio.Future[None], callback: Callable[[], None]) -> None:
    if not fut.cancelled():
        fut.exception()  # retrieved: the reason reaches the worker through check_connected
    callback()


def _make_client(cfg: IngestConfig, b: BrokerAddress) -> aiomqtt.Client:
    kwargs: dict[str, Any] = {}
    if cfg.mqtt_protocol == 5:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = cfg.session_expiry_s
        props.ReceiveMaximum = cfg.receive_maximum
        kwargs.update(protocol=aiomqtt.ProtocolVersion.V5, clean_start=False, properties=props)
    else:
        kwargs.update(protocol=aiomqtt.ProtocolVersion.V311, clean_session=False)
    return aiomqtt.Client(
        b.host,
        b.port,
        username=b.username,
        password=b.password,
        identifier=cfg.client_id,
        keepalive=cfg.keepalive_s,
        tls_context=ssl.create_default_context() if b.tls else None,
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        timeout=10,
        **kwargs,
    )
