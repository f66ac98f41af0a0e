"""The MQTT client behind a tiny interface, so the uplink logic can be tested with a fake.

``PahoTransport`` runs paho-mqtt 2.x (``CallbackAPIVersion.VERSION2``, the gateway id as
the stable client id) on a network thread of its own, which alone reads and writes the socket. The thread owns connecting and
reconnecting, with jittered exponential backoff (``reconnect_min_s`` doubling up to
``reconnect_max_s``, each delay drawn from ``[d/2, d]``, reset after a successful
CONNACK). With the nodes of a clustered broker (``hosts``: more ``(host, port)`` after
the first), a failed attempt or a lost connection goes on to the next address in order
and round again, so the gateway follows the cluster when the node it was on dies; its
session (3.1.1 or 5, below) is the cluster's, and whatever the dead node held unacknowledged
is resent by paho and, beyond that, by the outbox. Every paho callback is handed to the
event loop with ``call_soon_threadsafe``, so the uplink's state is only touched there.

Both protocol versions keep the session across reconnects and restarts: MQTT 3.1.1 with
``clean_session=False``; MQTT 5 with ``clean_start=False`` on every connection (paho's
default would start clean on the first) and a Session Expiry Interval
(``session_expiry_s``), without which an MQTT 5 broker discards the session at the
disconnect. Over TLS the broker's certificate is verified against ``tls_ca`` (or the
system's trust store), and with ``tls_cert``/``tls_key`` the gateway presents a client
certificate. With MQTT 5 a publish the broker refuses (e.g. "Not authorized" by its ACL)
comes back as a failed PUBACK: it is logged (the first and then every 100th) and
otherwise treated as sent, so the batch stays in the outbox and is sent again until the
cloud acknowledges it.

The last will is built anew before every connection attempt (``will()``, called on the
network thread, returns the will's payload and the connection's epoch), so it names the
connection it belongs to; ``on_connected`` reports the epoch of the connection that was
accepted, so the birth carries the same one (see ``GatewayStatus.epoch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from bohsense.contracts.backoff import backoff_delay
from bohsense.edge.errors import UplinkError

__all__ = ["PROTOCOLS", "PahoTransport", "Transport", "TransportEvents", "WillFactory"]

log = logging.getLogger(__name__)

#: the MQTT versions the gateway speaks, by their settings name
PROTOCOLS = {"3.1.1": mqtt.MQTTv311, "5": mqtt.MQTTv5}

#: builds the last will of the next connection: ``(payload, epoch)``; thread-safe
WillFactory = Callable[[], tuple[bytes, int]]


class TransportEvents(Protocol):
    """What the transport reports; always called on the event loop."""

    def on_connected(self, session_present: bool, epoch: int = 0) -> None: ...
    def on_connect_failed(self, reason: str) -> None: ...
    def on_disconnected(self, reason: str) -> None: ...
    def on_puback(self, mid: int) -> None: ...
    def on_message(self, topic: str, payload: bytes) -> None: ...


class Transport(Protocol):
    def start(self, events: TransportEvents, loop: asyncio.AbstractEventLoop) -> None: ...
    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """Hand one QoS 1 message to the client (queued while disconnected); return its mid."""
        ...

    def subscribe(self, topics: Sequence[str]) -> None: ...
    def close(self, timeout: float) -> None:
        """Disconnect cleanly (no last will) and stop the network thread."""
        ...


def _socket_hook(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """The socket's writes are the network thread's business; nothing to register."""


class PahoTransport:
    def __init__(
        self,
        *,
        client_id: str,
        host: str,
        port: int,
        keepalive: int,
        will_topic: str,
        will: WillFactory,
        username: str = "",
        password: str = "",
        tls: bool = False,
        tls_ca: str = "",
        tls_cert: str = "",
        tls_key: str = "",
        protocol: str = "3.1.1",
        session_expiry_s: int = 7 * 24 * 3600,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        client_inflight: int = 100,
        hosts: Sequence[tuple[str, int]] = (),
    ) -> None:
        self._keepalive = keepalive
        self._scheme = "mqtts" if tls else "mqtt"
        #: every address to try, in order; ``_at`` is the one in use (network thread)
        self._addresses = [(host, port), *((h, p) for h, p in hosts if (h, p) != (host, port))]
        self._at = 0
        #: how many times the transport moved on to another address
        self.failovers = 0
        self._shown = self._current()
        self._connack_refused = False  # the broker answered the CONNECT with a refusal
        self._low, self._high = reconnect_min_s, reconnect_max_s
        if protocol not in PROTOCOLS:
            raise UplinkError(f"MQTT protocol {protocol!r} is not one of {sorted(PROTOCOLS)}")
        if bool(tls_cert) != bool(tls_key):
            raise UplinkError("a client certificate needs both tls_cert and tls_key")
        self._v5 = protocol == "5"
        self._session_expiry_s = session_expiry_s
        self._refused = 0
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=None if self._v5 else False,
            protocol=PROTOCOLS[protocol],
        )
        c.max_inflight_messages_set(client_inflight)
        c.max_queued_messages_set(0)  # the uplink bounds what it hands over itself
        if username:
            c.username_pw_set(username, password)
        if tls:
            try:
                c.tls_set(
                    ca_certs=tls_ca or None,
                    certfile=tls_cert or None,
                    keyfile=tls_key or None,
                    cert_reqs=ssl.CERT_REQUIRED,
                )
            except (OSError, ssl.SSLError, ValueError) as exc:
                # the paths only: ssl's messages name the failing check, never key material
                raise UplinkError(
                    f"TLS setup failed (tls_ca={tls_ca!r}, tls_cert={tls_cert!r}, tls_key={tls_key!r}):"
                    f" {type(exc).__name__}: {exc}"
                ) from exc
        elif tls_cert:
            raise UplinkError("tls_cert/tls_key are set but the broker URL is not mqtts://")
        # Only the network thread may write to the socket. Without a loop_start() thread,
        # paho's publish() writes directly from the caller's thread, which can interleave
        # with a partial write of the network thread and corrupt the stream. With these
        # (no-op) hooks registered, publish() only queues the packet and wakes the
        # network thread's select(), which then writes it.
        c.on_socket_register_write = _socket_hook
        c.on_socket_unregister_write = _socket_hook
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        self._client = c
        self._will_topic, self._will = will_topic, will
        self._epoch = 0  # of the connection being opened (network thread only)
        self._stop = threading.Event()
        self._connacked = False
        self._thread: threading.Thread | None = None
        self._events: TransportEvents | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def address(self) -> str:
        """The node of the latest event handed to the event loop (connected, lost, refused),
        for log lines and the status; never the credentials."""
        return self._shown

    def _current(self) -> str:
        host, port = self._addresses[self._at]
        return f"{self._scheme}://{f'[{host}]' if ':' in host else host}:{port}"

    # -- interface ----------------------------------------------------------------------

    def start(self, events: TransportEvents, loop: asyncio.AbstractEventLoop) -> None:
        self._events, self._loop = events, loop
        self._thread = threading.Thread(target=self._run, name="mqtt-network", daemon=True)
        self._thread.start()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise UplinkError(f"MQTT client refused a publish: {mqtt.error_string(info.rc)}")
        return int(info.mid)

    def subscribe(self, topics: Sequence[str]) -> None:
        if self._v5:
            self._client.subscribe([(t, SubscribeOptions(qos=1)) for t in topics])
        else:
            self._client.subscribe([(t, 1) for t in topics])

    def close(self, timeout: float) -> None:
        self._stop.set()
        with contextlib.suppress(Exception):
            self._client.disconnect()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- network thread -----------------------------------------------------------------

    def _run(self) -> None:
        attempt = 0
        connect = True  # connect() (a new address) rather than reconnect() (the same)
        while not self._stop.is_set():
            try:
                self._arm_will()
                if connect:
                    self._connect()
                    connect = False
                else:
                    self._client.reconnect()
            except (OSError, ValueError) as exc:
                attempt += 1
                self._emit("on_connect_failed", f"{type(exc).__name__}: {exc}")
                connect = self._next_address()
                self._stop.wait(backoff_delay(attempt, self._low, self._high))
                continue
            while not self._stop.is_set():
                rc = self._client.loop(timeout=0.05)
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
            if self._stop.is_set():
                # flush the DISCONNECT queued by close()
                for _ in range(20):
                    if self._client.loop(timeout=0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                        break
                return
            if not self._connacked and not self._connack_refused:
                # a node that takes the TCP connection but never answers the CONNECT (a
                # cluster node that cannot reach its session's replicas yet, say)
                self._emit("on_connect_failed", "the connection closed before the broker's CONNACK")
            attempt = 1 if self._connacked else attempt + 1
            self._connacked = self._connack_refused = False
            connect = self._next_address()
            self._stop.wait(backoff_delay(attempt, self._low, self._high))

    def _next_address(self) -> bool:
        """Move on to the next address; whether there was another one to move to."""
        if len(self._addresses) == 1:
            return False
        self._at = (self._at + 1) % len(self._addresses)
        self.failovers += 1
        log.info("trying the next broker node", extra={"broker": self._current()})
        return True

    def _connect(self) -> None:
        host, port = self._addresses[self._at]
        if not self._v5:
            self._client.connect(host, port, self._keepalive)
            return
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self._session_expiry_s
        # reconnect() reuses clean_start and these properties
        self._client.connect(host, port, self._keepalive, clean_start=False, properties=props)

    def _arm_will(self) -> None:
        """Set the will of the connection about to be opened (read by connect/reconnect)."""
        payload, self._epoch = self._will()
        self._client.will_set(self._will_topic, payload, qos=1, retain=True)

    def _emit(self, name: str, *args: Any) -> None:
        loop, events = self._loop, self._events
        if loop is None or events is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is already closed at shutdown
            loop.call_soon_threadsafe(self._deliver, getattr(events, name), self._current(), args)

    def _deliver(self, handler: Callable[..., None], address: str, args: tuple[Any, ...]) -> None:
        """On the event loop: ``address`` is the node the event came from, whatever node the
        network thread has moved on to since."""
        self._shown = address
        handler(*args)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._connack_refused = True
            self._emit("on_connect_failed", f"broker refused the connection: {reason}")
            return
        self._connacked = True
        self._emit("on_connected", bool(flags.session_present), self._epoch)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._emit("on_disconnected", str(reason))

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        if getattr(reason, "is_failure", False):
            self._refused += 1
            if self._refused % 100 == 1:
                log.warning(
                    "the broker refused a publish (%s; %d so far): check the broker's ACL for this gateway",
                    reason,
                    self._refused,
                )
        self._emit("on_puback", mid)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._emit("on_message", msg.topic, bytes(msg.payload))
