"""Checking one MQTT message: bytes and topic in, accepted batch / status and quarantine out.

No I/O. A payload that cannot be a v1 message is quarantined whole with the codec's
reason (``malformed``, ``schema``, ``oversized``, ``empty``, ``not-an-object``); a batch
published on another gateway's topic is quarantined whole (``topic-mismatch``); a topic
outside the v1 tree is quarantined (``topic``). A single reading with an impossible
event time (``bad-time``: before 2000, beyond the skew allowance, negative or beyond 64 bits) or a non-finite value (``bad-value``) is quarantined on its
own and the rest of its batch is kept: the accepted batch is then a trimmed copy with
the same ``(gateway, seq)``, possibly with no readings at all, so that its sequence
number is still applied and the gateway's watermark can move past it.

Events are checked the same way, each on its own: decoded by kind
(``contracts.events.decode_event``; ``unknown-event-kind``, ``event-attrs``,
``event-device``) and their event time checked like a reading's (``bad-time``). A bad one
is quarantined as a copy of its batch holding that one event (in the payload's own
encoding: its attributes are still undecoded bytes of it), and the rest of the batch is
kept. The accepted batch keeps only the good events, their attributes in MessagePack
whatever the payload's encoding (every copy the cloud makes of a batch is MessagePack),
and ``Checked.events`` carries them decoded, each with its position in the batch as sent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from bohsense.cloud.ports import BatchEvent, QuarantineItem
from bohsense.contracts.codec import (
    Encoding,
    PayloadError,
    decode_batch,
    decode_result,
    decode_status,
    encode,
    read_batch_identity,
    sniff,
)
from bohsense.contracts.events import EventError, decode_event
from bohsense.contracts.schema import CommandResult, GatewayStatus, Reading, ReadingBatch, WireEvent
from bohsense.contracts.timeutil import EARLIEST_VALID_NS, check_event_time
from bohsense.contracts.topics import TopicError, parse_topic

__all__ = ["Checked", "check_message"]

_INF = math.inf
_topics: dict[str, tuple[str, str]] = {}  # valid topics seen before → (gateway, kind)


def _parse_topic(topic: str) -> tuple[str, str]:
    hit = _topics.get(topic)
    if hit is None:
        hit = parse_topic(topic)
        if len(_topics) >= 100_000:
            _topics.clear()
        _topics[topic] = hit
    return hit


@dataclass(slots=True)
class Checked:
    """What one message turned into (at most one of ``batch`` / ``status`` / ``result``)."""

    batch: ReadingBatch | None = None
    status: GatewayStatus | None = None
    result: CommandResult | None = None
    quarantine: list[QuarantineItem] = field(default_factory=list)
    #: the accepted events of ``batch``, decoded (in the order of ``batch.events``)
    events: tuple[BatchEvent, ...] = ()
    #: the batch was rejected whole and ``batch`` is an empty one with its seq, to settle it
    settled: bool = False


def _reject(topic: str, payload: bytes, reason: str, detail: str, now: int, gateway: str = "") -> Checked:
    return Checked(quarantine=[QuarantineItem(topic, payload, reason, detail, now, gateway)])


#: topic kind -> (what it is, decoder, how it is carried on): the small gateway messages
_SMALL: dict[str, tuple[str, Callable[[bytes], Any], Callable[[Any], Checked]]] = {
    "status": ("status", decode_status, lambda m: Checked(status=m)),
    "result": ("command result", decode_result, lambda m: Checked(result=m)),
}


def check_message(topic: str, payload: bytes, now: int, max_future_ns: int) -> Checked:
    """Decode and check the message received at ``now`` (ns) on ``topic``."""
    try:
        gateway, kind = _parse_topic(topic)
    except TopicError as exc:
        return _reject(topic, payload, "topic", str(exc), now)
    if kind in _SMALL:
        what, decode, make = _SMALL[kind]
        try:
            message = decode(payload)
        except PayloadError as exc:
            return _reject(topic, payload, exc.reason, exc.detail, now, gateway)
        if kind == "status" and message.ts > now + max_future_ns:
            # event time decides which status wins: one from the far future would freeze the
            # gateway's state, so it counts as sent at the latest possible moment
            message = msgspec.structs.replace(message, ts=now + max_future_ns)
        if message.gateway != gateway:
            return _reject(
                topic,
                payload,
                "topic-mismatch",
                f"{what} of gateway {message.gateway!r} on the topic of {gateway!r}",
                now,
                gateway,
            )
        return make(message)
    if kind != "readings":
        return _reject(topic, payload, "topic", f"the cloud does not consume {kind!r} topics", now, gateway)
    try:
        batch = decode_batch(payload)
    except PayloadError as exc:
        return _settle(topic, payload, exc, now, gateway)
    if batch.gateway != gateway:
        return _reject(
            topic,
            payload,
            "topic-mismatch",
            f"batch of gateway {batch.gateway!r} (seq {batch.seq}) on the topic of {gateway!r}",
            now,
            gateway,
        )
    out = Checked(batch=batch)
    readings = batch.readings
    if readings:
        # one C-speed pass per field instead of a Python test per reading: every time is in
        # range when the earliest and the latest are, and every value is finite when their
        # sum is (a NaN or an infinity makes it non-finite; so can an overflow, which only
        # costs the per-reading look of ``_trim``, which then keeps them all)
        times = [r.ts for r in readings]
        if not (
            min(times) >= EARLIEST_VALID_NS
            and max(times) <= now + max_future_ns
            and -_INF < sum([r.value for r in readings]) < _INF
        ):
            out = _trim(topic, batch, now, max_future_ns)
    if batch.events:
        assert out.batch is not None
        _check_events(topic, payload, out, now, max_future_ns)
    return out


def _check_events(topic: str, payload: bytes, out: Checked, now: int, max_future_ns: int) -> None:
    """Decode and check the events of ``out.batch``; keep the good ones, quarantine each bad one."""
    batch = out.batch
    assert batch is not None
    encoding = sniff(payload)
    json = encoding is Encoding.JSON
    good: list[BatchEvent] = []
    wire: list[WireEvent] = []
    for i, w in enumerate(batch.events):
        try:
            event = decode_event(w, json=json)
        except EventError as exc:
            reason, why = exc.reason, exc.detail
        else:
            found = check_event_time(w.ts, now, max_future_ns)
            if found is None:
                good.append(BatchEvent(i, event))
                # the accepted copy is MessagePack whatever came: re-encode JSON attributes
                wire.append(w if not json else msgspec.structs.replace(w, attrs=_msgpack_attrs(event.attrs)))
                continue
            reason, why = "bad-time", found
        single = msgspec.structs.replace(batch, readings=[], events=[w])
        try:
            kept = encode(single, encoding)
        except OverflowError:  # a time beyond 64 bits: only JSON can hold it (and JSON came)
            kept = encode(single, Encoding.JSON)
        out.quarantine.append(
            QuarantineItem(
                topic,
                kept,
                reason,
                f"event {i} ({w.device}/{w.kind}) of batch seq {batch.seq}: {why}",
                now,
                batch.gateway,
            )
        )
    if len(wire) != len(batch.events) or json:
        out.batch = msgspec.structs.replace(batch, events=wire)
    out.events = tuple(good)


def _msgpack_attrs(attrs: msgspec.Struct) -> msgspec.Raw:
    return msgspec.Raw(msgspec.msgpack.encode(attrs))


def _settle(topic: str, payload: bytes, exc: PayloadError, now: int, gateway: str) -> Checked:
    """Quarantine a batch refused whole; when its ``(gateway, seq)`` can still be read (and it
    is this topic's gateway), settle that seq with an empty batch: the CloudAck then covers
    it and the gateway deletes it, instead of resending a batch that can never be accepted."""
    ident = read_batch_identity(payload)
    if ident is None or ident[0] != gateway:
        return _reject(topic, payload, exc.reason, exc.detail, now, gateway)
    seq = ident[1]
    detail = f"{exc.detail}; batch seq {seq} is settled: its gateway will not send it again"
    out = _reject(topic, payload, exc.reason, detail, now, gateway)
    out.batch = ReadingBatch(gateway=gateway, seq=seq, sent=now, readings=[])
    out.settled = True
    return out


def _trim(topic: str, batch: ReadingBatch, now: int, max_future_ns: int) -> Checked:
    """Keep the good readings of ``batch``; quarantine each bad one on its own."""
    good: list[Reading] = []
    out = Checked()
    for i, r in enumerate(batch.readings):
        why = check_event_time(r.ts, now, max_future_ns)
        reason = "bad-time"
        if why is None and not math.isfinite(r.value):
            why, reason = f"value {r.value!r} is not a finite number", "bad-value"
        if why is None:
            good.append(r)
            continue
        single = msgspec.structs.replace(batch, readings=[r], events=[])
        try:
            kept = encode(single)
        except OverflowError:  # a time beyond 64 bits came in JSON: keep it in JSON
            kept = encode(single, Encoding.JSON)
        out.quarantine.append(
            QuarantineItem(
                topic,
                kept,
                reason,
                f"reading {i} ({r.device}/{r.metric}) of batch seq {batch.seq}: {why}",
                now,
                batch.gateway,
            )
        )
    out.batch = msgspec.structs.replace(batch, readings=good)
    return out
