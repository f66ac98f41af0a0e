"""The worker's one MQTT link: paho-mqtt on a network thread of its own, behind the
small interface the worker uses (connect, subscribe, receive, acknowledge, publish).

Only paho's public API is used here (``_paho_properties``, installed for MQTT 5, is the one
module that reaches into paho, to cut its per-packet cost of properties). One link is one connection: it never reconnects (the
worker makes a new link after backoff), so a dying link cannot take the session back
from its successor. The network thread alone reads and writes the socket (``loop()``;
the no-op socket-write hooks make ``publish`` and ``ack`` from the event loop only queue
their packet and wake the thread), and every callback reaches the event loop through
``call_soon_threadsafe``: messages in batches (one hand-over per burst, not per message),
so the worker's state is only touched there.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from bohsense.cloud.errors import CloudError
from bohsense.cloud.ingest._config import BrokerAddress, IngestConfig
from bohsense.cloud.ingest._health import ClientIdInUse, LinkError, taken_over
from bohsense.cloud.ingest._paho_properties import install as install_fast_properties

__all__ = ["Deliver", "LinkError", "MqttLink", "PublishRefused"]

#: what receives each message: (topic, payload, mid, qos), on the event loop
Deliver = Callable[[str, bytes, int, int], None]

_CONNECT_TIMEOUT_S = 10.0
_Message = tuple[str, bytes, int, int]


class PublishRefused(CloudError):
    """The MQTT client refused to queue a message (not connected, queue full…)."""


def _socket_hook(_client: paho.Client, _userdata: Any, _sock: Any) -> None:
    """Writes are the network thread's: nothing to register."""


class MqttLink:
    """One MQTT connection of the worker (``async with``); a new link for every connection."""

    def __init__(self, config: IngestConfig, broker: BrokerAddress, deliver: Deliver) -> None:
        self._config, self._broker, self._deliver = config, broker, deliver
        v5 = config.mqtt_protocol == 5
        if v5:
            install_fast_properties()
        c = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else False,
        )
        c.manual_ack_set(True)
        if broker.username:
            c.username_pw_set(broker.username, broker.password)
        if broker.tls:
            c.tls_set_context(ssl.create_default_context())
        c.on_socket_register_write = _socket_hook
        c.on_socket_unregister_write = _socket_hook
        c.on_socket_open = _nodelay
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message
        self._client = c
        self._lock = threading.Lock()
        self._pending: collections.deque[_Message] = collections.deque()
        self._scheduled = False
        self._subscribing: dict[int, asyncio.Future[list[ReasonCode]]] = {}
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connack: asyncio.Future[None] | None = None
        self._disconnected: asyncio.Future[None] | None = None

    # -- connection ------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        loop = self._loop = asyncio.get_running_loop()
        self._connack, self._disconnected = loop.create_future(), loop.create_future()
        try:
            async with asyncio.timeout(_CONNECT_TIMEOUT_S):
                await asyncio.to_thread(self._connect)
        except (OSError, TimeoutError, ValueError) as exc:
            raise LinkError(f"cannot connect to {self._broker.url}: {exc!r}") from exc
        self._thread = threading.Thread(target=self._run, name="ingest-mqtt", daemon=True)
        self._thread.start()
        try:
            async with asyncio.timeout(_CONNECT_TIMEOUT_S):
                await asyncio.wait({self._connack, self._disconnected}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            await self._close()
            raise LinkError(f"no CONNACK from {self._broker.url} within {_CONNECT_TIMEOUT_S:.0f} s") from None
        if self._connack.done() and self._connack.exception() is None:
            return self
        ended = self._disconnected.exception() if self._disconnected.done() else None
        why = self._connack.exception() if self._connack.done() else ended
        await self._close()
        if taken_over(ended):
            self.check_connected()  # raises ClientIdInUse
        raise LinkError(f"the broker refused the connection: {why}") from why

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close()

    def _connect(self) -> None:
        cfg, b = self._config, self._broker
        kwargs: dict[str, Any] = {}
        if cfg.mqtt_protocol == 5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = cfg.session_expiry_s
            props.ReceiveMaximum = cfg.receive_maximum
            kwargs.update(clean_start=False, properties=props)
        self._client.connect(b.host, b.port, cfg.keepalive_s, **kwargs)

    def _run(self) -> None:
        """The network thread: read, write and keep alive until closed or disconnected."""
        c = self._client
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        while not self._closing.is_set():
            rc = c.loop(timeout=0.05)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
        if self._closing.is_set():  # flush the DISCONNECT queued by _close
            for _ in range(20):
                if c.loop(timeout=0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
        self._ended(
            None if self._closing.is_set() else LinkError(f"connection lost: {paho.error_string(rc)}")
        )

    async def _close(self) -> None:
        self._closing.set()
        with contextlib.suppress(Exception):
            self._client.disconnect()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5.0)
        if self._disconnected is not None and not self._disconnected.done():
            self._disconnected.set_result(None)

    def on_disconnected(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the event loop) when this connection ends; after connecting."""
        assert self._disconnected is not None
        self._disconnected.add_done_callback(lambda fut: _settled(fut, callback))

    def check_connected(self) -> None:
        """Raise ``LinkError`` (``ClientIdInUse`` when another client took the session) once the
        connection has ended."""
        fut = self._disconnected
        if fut is None or not fut.done():
            return
        if not fut.cancelled() and taken_over(fut.exception()):
            raise ClientIdInUse(
                f"another MQTT client connected with client id {self._config.client_id!r} and took over"
                " this worker's session: give every worker its own client id (BOHSENSE_CLOUD_CLIENT_ID;"
                " the default is unique per host and API port) and let them share the load through a"
                " shared subscription (BOHSENSE_CLOUD_SHARED_GROUP)"
            )
        raise LinkError("disconnected from the broker; unacknowledged messages will be redelivered")

    # -- the worker's calls (event loop) ---------------------------------------------------
    async def subscribe(self, topic_filter: str, qos: int) -> Sequence[int | ReasonCode]:
        """The SUBACK's codes for ``topic_filter``."""
        assert self._loop is not None
        assert self._disconnected is not None
        fut: asyncio.Future[list[ReasonCode]] = self._loop.create_future()
        with self._lock:  # the SUBACK callback looks the mid up under the same lock
            rc, mid = self._client.subscribe(topic_filter, qos)
            if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
                self._subscribing[mid] = fut
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise LinkError(f"subscribing to {topic_filter!r} failed: {paho.error_string(rc)}")
        async with asyncio.timeout(_CONNECT_TIMEOUT_S):
            waiting: set[asyncio.Future[Any]] = {fut, self._disconnected}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        self.check_connected()
        return fut.result()

    def ack(self, acks: Iterable[tuple[int, int]]) -> None:
        """Acknowledge received messages by ``(mid, qos)``, in the order given."""
        ack = self._client.ack
        for mid, qos in acks:
            ack(mid, qos)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Queue a message; the network thread sends it (and any retry) without the caller waiting."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise PublishRefused(paho.error_string(info.rc))

    # -- paho callbacks (network thread) ---------------------------------------------------
    def _call(self, fn: Callable[..., object], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed already
            loop.call_soon_threadsafe(fn, *args)

    def _on_connect(self, _c: paho.Client, _u: Any, _flags: Any, reason: ReasonCode, _p: Any) -> None:
        self._call(
            _settle, self._connack, LinkError(f"CONNACK: {reason}", rc=reason) if reason.is_failure else None
        )

    def _on_disconnect(self, _c: paho.Client, _u: Any, _flags: Any, reason: ReasonCode, _p: Any) -> None:
        if self._closing.is_set():
            self._ended(None)
        else:
            self._ended(LinkError(f"the broker closed the connection: {reason}", rc=reason))

    def _ended(self, exc: BaseException | None) -> None:
        self._call(_settle, self._disconnected, exc)
        self._call(_settle, self._connack, exc or LinkError("closed before the CONNACK"))

    def _on_subscribe(self, _c: paho.Client, _u: Any, mid: int, codes: list[ReasonCode], _p: Any) -> None:
        with self._lock:
            fut = self._subscribing.pop(mid, None)
        if fut is not None:
            self._call(_settle_value, fut, list(codes))

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self._pending.append((msg.topic, bytes(msg.payload), msg.mid, msg.qos))
            if self._scheduled:
                return
            self._scheduled = True
        self._call(self._hand_over)

    def _hand_over(self) -> None:
        """On the event loop: every message received since the last hand-over, in order."""
        with self._lock:
            batch = list(self._pending)
            self._pending.clear()
            self._scheduled = False
        deliver = self._deliver
        for m in batch:
            deliver(*m)


def _settle(fut: asyncio.Future[None] | None, exc: BaseException | None) -> None:
    if fut is None or fut.done():
        return
    if exc is None:
        fut.set_result(None)
    else:
        fut.set_exception(exc)


def _settle_value(fut: asyncio.Future[list[ReasonCode]], value: list[ReasonCode]) -> None:
    if not fut.done():
        fut.set_result(value)


def _settled(fut: asyncio.Future[None], callback: Callable[[], None]) -> None:
    if not fut.cancelled():
        fut.exception()  # retrieved: the reason reaches the worker through check_connected
    callback()


def _nodelay(_client: paho.Client, _userdata: Any, sock: Any) -> None:
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
