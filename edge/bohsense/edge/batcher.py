"""From single readings and events to sequenced batches in the outbox.

Drivers call ``ReadingBuffer.put(reading)`` and ``ReadingBuffer.put_event(event)`` (the
sink; neither ever blocks, both are called on the event loop). The ``Batcher`` task takes
up to ``max_readings`` items (readings and events together, at most
``MAX_EVENTS_PER_BATCH`` of them events) and at most ``max_bytes`` of encoded items at a
time — as soon as that many are waiting, or ``max_delay_ms`` after the first of them
arrived — and appends them to the outbox as one entry, which assigns the batch its
sequence number: a batch's readings and events share its ``(gateway, seq)``.

Events (``contracts.events.Event``) wait in their own FIFO and go into the next batch
before readings, so an event is never stuck behind a backlog of readings. An *urgent*
event (its kind's ``urgent`` in ``EVENT_KINDS``, e.g. ``device.alarm``) makes the batch
that carries it urgent and closes that batch at once, without waiting for
``max_delay_ms``; the uplink sends urgent batches before any backlog. An event is
checked at ``put_event`` exactly as the cloud will check it (``decode_event`` of its
encoding: device name, registered kind, attributes by kind) plus its time like a
reading's, and a bad one is rejected with its reason and counted in ``rejected_events``.
Its size is its exact MessagePack encoding.

Size: a reading's MessagePack encoding is at most ``len(device) + len(metric) + 24``
bytes (names are ASCII: a 4-array header, two str headers of at most 2 bytes, an int
and a float of at most 9 bytes each), so a batch closed at ``max_bytes`` of that bound
encodes to at most ``max_bytes`` + 5 bytes (the list header). ``max_bytes`` may be at
most ``MAX_BATCH_BYTES``: the cloud's payload limit (``MAX_PAYLOAD_BYTES``) less a
64 KiB margin for the envelope (gateway, seq, sent, floor, site: a few hundred bytes),
so no configuration can make a batch the cloud refuses as ``oversized``, whatever the
names and the count.

A reading the v1 schema would refuse (a device or metric name outside
``[A-Za-z0-9_.:/-]{1,128}``, a timestamp outside 0…2⁶³-1, a value that is not a float)
is rejected at ``put`` with its reason and counted in ``rejected``: one bad reading
must not make the cloud quarantine the whole batch of good readings around it.

Memory is bounded: the buffer holds at most ``buffer_readings`` readings. It only fills
when the outbox writer falls behind the drivers (a stalled disk); a reading put into a
full buffer is dropped and counted in ``overflow`` — the only place the edge can lose a
reading, and never silently. The default (200,000 readings, ~30 MB) absorbs about 20 s
of a full store's output (4 RFID readers, 40 lanes, 10 vibration sensors) without the
outbox writing at all; with a working disk the buffer stays below one batch.

What a crash can lose: readings still in this buffer, i.e. at most ``max_delay_ms`` (or
one batch) of readings, at a ``kill -9`` or power cut. Everything appended to the outbox
is durable (see ``bohsense.edge.outbox``); a clean stop flushes the buffer first.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec

from bohsense.contracts.codec import encode_events
from bohsense.contracts.events import Event, EventError, decode_event, event_kind
from bohsense.contracts.schema import MAX_EVENTS_PER_BATCH, MAX_PAYLOAD_BYTES, Reading, WireEvent, valid_name
from bohsense.edge.errors import OutboxFullError

__all__ = [
    "DEFAULT_BATCH_BYTES",
    "MAX_BATCH_BYTES",
    "AppendFn",
    "Batcher",
    "ReadingBuffer",
    "encoded_bound",
    "event_problem",
]

log = logging.getLogger(__name__)


class AppendFn(Protocol):
    """``ThreadedOutbox.append``: commit one batch, return its seq."""

    def __call__(
        self,
        payload: bytes,
        readings: int,
        *,
        event_payload: bytes = ...,
        events: int = ...,
        urgent: bool = ...,
    ) -> Awaitable[int]: ...


_MAX_NS = 2**63 - 1
#: the largest ``batch.max_bytes``: the cloud's payload limit less the envelope margin
MAX_BATCH_BYTES = MAX_PAYLOAD_BYTES - 64 * 1024
DEFAULT_BATCH_BYTES = 512 * 1024
_READING_OVERHEAD = 24


def encoded_bound(reading: Reading) -> int:
    """An upper bound of the MessagePack size of a valid ``reading``, in bytes."""
    return len(reading.device) + len(reading.metric) + _READING_OVERHEAD


def _plain_ok(reading: Reading) -> bool:
    """The per-reading checks (the names are checked once per series)."""
    ts, value = reading.ts, reading.value
    return type(ts) is int and 0 <= ts <= _MAX_NS and (type(value) is float or type(value) is int)


def reading_problem(reading: Reading) -> str | None:
    """Why the v1 schema would refuse ``reading`` (a short reason), or None."""
    if not isinstance(reading, Reading):
        return "not-a-reading"
    if not isinstance(reading.device, str) or not valid_name(reading.device):
        return "bad-device"
    if not isinstance(reading.metric, str) or not valid_name(reading.metric):
        return "bad-metric"
    if type(reading.ts) is not int or not 0 <= reading.ts <= _MAX_NS:
        return "bad-ts"
    if type(reading.value) is not float and type(reading.value) is not int:
        return "bad-value"
    return None


_event_enc = msgspec.msgpack.Encoder()
_wire_event = msgspec.msgpack.Decoder(WireEvent)


def event_problem(event: Event) -> tuple[str, int]:
    """Why the cloud would refuse ``event`` (a short reason, "" if it would not), and the
    size of its MessagePack encoding."""
    if not isinstance(event, Event):
        return "not-an-event", 0
    if not isinstance(event.kind, str):
        return "unknown-event-kind", 0
    try:
        kind = event_kind(event.kind)
    except EventError as exc:
        return exc.reason, 0
    if type(event.ts) is not int or not 0 <= event.ts <= _MAX_NS:
        return "bad-ts", 0
    if not isinstance(event.device, str) or not valid_name(event.device):
        return "event-device", 0
    if type(event.attrs) is not kind.attrs:
        return "event-attrs", 0
    try:
        encoded = _event_enc.encode(event)
        decode_event(_wire_event.decode(encoded))
    except EventError as exc:
        return exc.reason, 0
    except (msgspec.ValidationError, msgspec.DecodeError, TypeError, ValueError):
        return "event-attrs", 0
    return "", len(encoded)


class ReadingBuffer:
    """The sink every driver writes to: a bounded FIFO of readings and one of events."""

    def __init__(self, capacity: int, batch_size: int, batch_bytes: int = DEFAULT_BATCH_BYTES) -> None:
        self.capacity = capacity
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        #: ``encoded_bound`` summed over the buffered readings
        self.bytes = 0
        self.accepted = 0
        self.overflow = 0
        self.rejected: collections.Counter[str] = collections.Counter()
        self.events_accepted = 0
        self.event_overflow = 0
        self.rejected_events: collections.Counter[str] = collections.Counter()
        #: urgent events waiting: the batcher closes a batch at once while there is one
        self.urgent = 0
        self._good_series: set[tuple[str, str]] = set()
        self._items: collections.deque[Reading] = collections.deque()
        self._events: collections.deque[tuple[Event, int, bool]] = collections.deque()
        self._wake = asyncio.Event()
        self.first_at = 0.0

    def put(self, reading: Reading) -> None:
        try:
            known = (reading.device, reading.metric) in self._good_series
        except (AttributeError, TypeError):
            known = False
        if not known or not _plain_ok(reading):
            problem = reading_problem(reading)
            if problem is not None:
                self._reject(reading, problem)
                return
            if len(self._good_series) >= 100_000:
                self._good_series.clear()  # bounded memory, whatever the drivers name
            self._good_series.add((reading.device, reading.metric))
        items = self._items
        n = len(items) + len(self._events)
        if n >= self.capacity:
            self.overflow += 1
            if self.overflow == 1 or self.overflow % 10_000 == 0:
                log.error(
                    "reading buffer full: the outbox is not keeping up, readings are dropped",
                    extra={"overflow": self.overflow, "capacity": self.capacity},
                )
            return
        items.append(reading)
        self.accepted += 1
        size = self.bytes
        self.bytes = size + len(reading.device) + len(reading.metric) + _READING_OVERHEAD
        if n == 0:
            self.first_at = time.monotonic()
            self._wake.set()
        elif n + 1 == self.batch_size or (size < self.batch_bytes <= self.bytes):
            self._wake.set()

    def put_event(self, event: Event) -> None:
        """Accept one event (``contracts.events.Event``). Never blocks; called on the event
        loop. An urgent one closes the batch that carries it at once."""
        problem, size = event_problem(event)
        if problem:
            self.rejected_events[problem] += 1
            total = sum(self.rejected_events.values())
            if total <= 10 or total % 1000 == 0:
                log.warning(
                    "event rejected: the cloud would refuse it",
                    extra={"reason": problem, "event": repr(event)[:200], "rejected_events": total},
                )
            return
        n = len(self._items) + len(self._events)
        urgent = event_kind(event.kind).urgent
        if n >= self.capacity:
            self.event_overflow += 1
            log.error(
                "reading buffer full: the outbox is not keeping up, an event is dropped",
                extra={"kind": event.kind, "event_overflow": self.event_overflow, "capacity": self.capacity},
            )
            return
        self._events.append((event, size, urgent))
        self.events_accepted += 1
        before = self.bytes
        self.bytes = before + size
        if urgent:
            self.urgent += 1
        if n == 0:
            self.first_at = time.monotonic()
        if n == 0 or urgent or n + 1 == self.batch_size or before < self.batch_bytes <= self.bytes:
            self._wake.set()

    def _reject(self, reading: object, reason: str) -> None:
        self.rejected[reason] += 1
        total = sum(self.rejected.values())
        if total <= 10 or total % 1000 == 0:
            log.warning(
                "reading rejected: the v1 schema would refuse it",
                extra={"reason": reason, "reading": repr(reading)[:200], "rejected_readings": total},
            )

    def __len__(self) -> int:
        """Readings and events waiting."""
        return len(self._items) + len(self._events)

    def take(self, n: int, max_bytes: int | None = None) -> tuple[list[Reading], list[Event], bool]:
        """The next batch: events first, then readings, each in order; at most ``n`` items,
        at most ``MAX_EVENTS_PER_BATCH`` events, whose sizes sum to at most ``max_bytes``
        (default ``batch_bytes``); always at least one item if any is waiting. The last
        value tells whether an event taken is urgent."""
        items, events = self._items, self._events
        limit = self.batch_bytes if max_bytes is None else max_bytes
        if not events and len(items) <= n and self.bytes <= limit:  # all of it fits: no per-reading sums
            out = list(items)
            items.clear()
            self.bytes = 0
            return out, [], False
        taken: list[Event] = []
        used = 0
        urgent = False
        while events and len(taken) < min(n, MAX_EVENTS_PER_BATCH):
            event, size, is_urgent = events[0]
            if taken and used + size > limit:
                break
            events.popleft()
            taken.append(event)
            used += size
            if is_urgent:
                urgent = True
                self.urgent -= 1
        out = []
        room = n - len(taken)
        while items and len(out) < room:
            r = items[0]
            size = len(r.device) + len(r.metric) + _READING_OVERHEAD
            if (out or taken) and used + size > limit:
                break
            out.append(items.popleft())
            used += size
        self.bytes -= used
        if items or events:
            self.first_at = time.monotonic()
        return out, taken, urgent

    async def wait(self, limit_s: float | None) -> None:
        """Until something was put into an empty buffer, a batch filled, or ``limit_s`` passed."""
        self._wake.clear()
        try:
            async with asyncio.timeout(limit_s):
                await self._wake.wait()
        except TimeoutError:
            pass

    def poke(self) -> None:
        self._wake.set()


class Batcher:
    """Groups buffered readings and events into batches by count, size or delay (at once
    for an urgent event) and appends them. ``put`` and ``put_event`` are its buffer's."""

    def __init__(
        self,
        buffer: ReadingBuffer,
        append: AppendFn,
        *,
        max_readings: int,
        max_delay_s: float,
        max_bytes: int = DEFAULT_BATCH_BYTES,
        on_appended: Callable[[int], None] = lambda seq: None,
    ) -> None:
        if not 0 < max_bytes <= MAX_BATCH_BYTES:
            raise ValueError(f"max_bytes must be in 1..{MAX_BATCH_BYTES}, not {max_bytes}")
        self.buffer = buffer
        self._append = append
        self.max_readings = max_readings
        self.max_bytes = max_bytes
        self.max_delay_s = max_delay_s
        self._on_appended = on_appended
        self._stopping = False
        self._enc = msgspec.msgpack.Encoder()
        self.batches = 0
        self.readings = 0
        self.events = 0
        self.urgent_batches = 0
        self.last_seq = 0
        #: batches the outbox refused on a full disk (dropped, counted in its lost_* counters)
        self.refused_full = 0

    def put(self, reading: Reading) -> None:
        self.buffer.put(reading)

    def put_event(self, event: Event) -> None:
        self.buffer.put_event(event)

    def stop(self) -> None:
        """Flush what is buffered, then return from ``run``."""
        self._stopping = True
        self.buffer.poke()

    async def run(self) -> None:
        buf = self.buffer
        while True:
            if not buf:
                if self._stopping:
                    return
                await buf.wait(None)
                continue
            if (
                len(buf) < self.max_readings
                and buf.bytes < self.max_bytes
                and not buf.urgent
                and not self._stopping
            ):
                remaining = buf.first_at + self.max_delay_s - time.monotonic()
                if remaining > 0:
                    await buf.wait(remaining)
                    continue
            await self._flush_one()

    async def _flush_one(self) -> None:
        readings, events, urgent = self.buffer.take(self.max_readings, self.max_bytes)
        try:
            seq = await self._append(
                self._enc.encode(readings),
                len(readings),
                event_payload=encode_events(events) if events else b"",
                events=len(events),
                urgent=urgent,
            )
        except OutboxFullError as exc:  # counted by the outbox as dropped and lost
            self.refused_full += 1
            if self.refused_full == 1 or self.refused_full % 100 == 0:
                log.error("%s", exc, extra={"refused_batches": self.refused_full})
            return
        self.batches += 1
        self.readings += len(readings)
        self.events += len(events)
        self.urgent_batches += urgent
        self.last_seq = seq
        self._on_appended(seq)
