"""What an MQTT broker (or a cluster of them) does of what bohsense needs, found by trying
it: each check connects real paho clients to the broker's nodes and reports what happened,
never what the broker's documentation says.

``probe(addresses)`` returns one ``Check`` per feature: QoS 1 across nodes, a persistent
session (MQTT 3.1.1 ``clean_session=False``) that keeps a QoS 1 message queued while its
client is away and hands it over on another node, retained messages, the last will,
shared subscriptions (``$share/<group>/…``) and an MQTT 5 CONNECT.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

__all__ = ["Check", "probe"]

WAIT_S = 5.0


@dataclass(frozen=True)
class Check:
    feature: str
    ok: bool
    detail: str


class _Client:
    """A paho client on its own thread, with what it received in a queue."""

    def __init__(self, address: str, *, client_id: str | None = None, clean: bool = True,
                 protocol: int = paho.MQTTv311, will: str | None = None) -> None:  # fmt: skip
        self.messages: queue.Queue[tuple[str, bytes, int, bool]] = queue.Queue()
        self.connack: queue.Queue[tuple[bool, str, bool]] = queue.Queue()
        self.subacks: queue.Queue[list[Any]] = queue.Queue()
        self.acked: queue.Queue[int] = queue.Queue()
        self.c = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"probe-{uuid.uuid4().hex[:8]}",
            clean_session=None if protocol == paho.MQTTv5 else clean,
            protocol=protocol,
        )
        if will:
            self.c.will_set(will, b"gone", qos=1)
        self.c.on_connect = lambda _c, _u, flags, rc, _p: self.connack.put(
            (not rc.is_failure, str(rc), bool(flags.session_present))
        )
        self.c.on_message = lambda _c, _u, m: self.messages.put(
            (m.topic, bytes(m.payload), m.qos, bool(m.retain))
        )
        self.c.on_subscribe = lambda _c, _u, _mid, codes, _p: self.subacks.put(list(codes))
        self.c.on_publish = lambda _c, _u, mid, _rc, _p: self.acked.put(mid)
        host, port = address.rsplit(":", 1)
        self.c.connect(host, int(port), keepalive=30)
        self.c.loop_start()
        self.ok, self.reason, self.session_present = self.connack.get(timeout=WAIT_S)

    def subscribe(self, topic: str) -> list[Any]:
        self.c.subscribe(topic, qos=1)
        return self.subacks.get(timeout=WAIT_S)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        info = self.c.publish(topic, payload, qos=1, retain=retain)
        try:
            return self.acked.get(timeout=WAIT_S) == info.mid
        except queue.Empty:
            return False

    def received(self, n: int = 1, wait_s: float = WAIT_S) -> list[tuple[str, bytes, int, bool]]:
        out = []
        deadline = time.monotonic() + wait_s
        while len(out) < n and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                out.append(self.messages.get(timeout=max(0.01, deadline - time.monotonic())))
        return out

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.c.disconnect()
        self.c.loop_stop()

    def drop(self) -> None:
        """Close the TCP connection without DISCONNECT, as a dying client does."""
        sock = self.c.socket()
        self.c.loop_stop()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def _guard(feature: str, fn: Any) -> Check:
    try:
        ok, detail = fn()
    except Exception as exc:  # a probe that cannot even run reports why
        return Check(feature, False, f"{type(exc).__name__}: {exc}")
    return Check(feature, bool(ok), detail)


def probe(addresses: list[str]) -> list[Check]:
    """Try each feature on the nodes ``addresses`` (``host:port``; one or more)."""
    a, b = addresses[0], addresses[1 % len(addresses)]
    c = addresses[2 % len(addresses)]
    tag = uuid.uuid4().hex[:8]

    def qos1() -> tuple[bool, str]:
        sub, pub = _Client(b), _Client(a)
        try:
            sub.subscribe(f"probe/{tag}/q")
            acked = pub.publish(f"probe/{tag}/q", b"x")
            got = sub.received()
            return acked and bool(got) and got[0][
                2
            ] == 1, f"PUBACK {acked}, received {[(m[2]) for m in got]} (qos)"
        finally:
            sub.close()
            pub.close()

    def session() -> tuple[bool, str]:
        cid = f"probe-sess-{tag}"
        s1 = _Client(a, client_id=cid, clean=False)
        s1.subscribe(f"probe/{tag}/s")
        s1.close()
        time.sleep(0.5)
        pub = _Client(b)
        pub.publish(f"probe/{tag}/s", b"while-away")
        pub.close()
        s2 = _Client(c, client_id=cid, clean=False)
        try:
            got = s2.received()
            return s2.session_present and bool(got), (
                f"session_present={s2.session_present} on another node, queued message delivered: {bool(got)}"
            )
        finally:
            s2.close()
            with contextlib.suppress(Exception):  # end the session
                _Client(c, client_id=cid, clean=True).close()

    def retained() -> tuple[bool, str]:
        pub = _Client(a)
        pub.publish(f"probe/{tag}/r", b"kept", retain=True)
        pub.close()
        time.sleep(0.5)
        sub = _Client(b)
        try:
            sub.subscribe(f"probe/{tag}/r")
            got = sub.received()
            return bool(got) and got[0][3], f"a later subscriber on another node got it: {bool(got)}"
        finally:
            sub.close()

    def retained_here() -> tuple[bool, str]:
        pub = _Client(a)
        pub.publish(f"probe/{tag}/rh", b"kept", retain=True)
        pub.close()
        time.sleep(0.5)
        sub = _Client(a)
        try:
            sub.subscribe(f"probe/{tag}/rh")
            got = sub.received()
            return bool(got) and got[0][3], f"a later subscriber on the same node got it: {bool(got)}"
        finally:
            sub.close()

    def will() -> tuple[bool, str]:
        sub = _Client(b)
        sub.subscribe(f"probe/{tag}/w")
        dying = _Client(a, will=f"probe/{tag}/w")
        time.sleep(0.2)
        dying.drop()
        try:
            got = sub.received(wait_s=10)
            return bool(got), f"will delivered on another node after a dropped connection: {bool(got)}"
        finally:
            sub.close()

    def shared() -> tuple[bool, str]:
        subs = [_Client(x) for x in (b, c)]
        try:
            codes = [s.subscribe(f"$share/g{tag}/probe/{tag}/sh") for s in subs]
            pub = _Client(a)
            n = 20
            for i in range(n):
                pub.publish(f"probe/{tag}/sh", str(i).encode())
            pub.close()
            got = [s.received(n, wait_s=3) for s in subs]
            counts = [len(g) for g in got]
            payloads = [m[1] for g in got for m in g]
            ok = sum(counts) == n and len(set(payloads)) == n and all(counts)
            return ok, f"SUBACK {codes}; of {n} messages the two members got {counts}"
        finally:
            for s in subs:
                s.close()

    def mqtt5() -> tuple[bool, str]:
        try:
            cl = _Client(a, protocol=paho.MQTTv5)
        except queue.Empty:
            return False, "no CONNACK: the broker closed the connection"
        cl.close()
        return cl.ok, f"CONNACK {cl.reason}"

    checks = [("QoS 1 across nodes", qos1), ("persistent session (clean_session=False)", session),
              ("retained messages", retained),
              ("retained messages (same node)", retained_here), ("last will", will), ("shared subscriptions ($share)", shared),
              ("MQTT 5", mqtt5)]  # fmt: skip
    out = []
    for name, fn in checks:
        done: list[Check] = []
        t = threading.Thread(target=lambda n=name, f=fn, d=done: d.append(_guard(n, f)), daemon=True)
        t.start()
        t.join(60)
        out.append(done[0] if done else Check(name, False, "the probe hung for 60 s"))
    return out
