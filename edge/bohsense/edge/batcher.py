"""From single readings to sequenced batches in the outbox.

Drivers call ``ReadingBuffer.put`` (never blocks, called on the event loop). The
``Batcher`` task takes up to ``max_readings`` readings and at most ``max_bytes`` of
encoded readings at a time — as soon as that many are waiting, or ``max_delay_ms``
after the first of them arrived — and appends them to the outbox as one entry, which
assigns the batch its sequence number.

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

import msgspec

from bohsense.contracts.schema import MAX_PAYLOAD_BYTES, Reading, valid_name

__all__ = ["DEFAULT_BATCH_BYTES", "MAX_BATCH_BYTES", "Batcher", "ReadingBuffer", "encoded_bound"]

log = logging.getLogger(__name__)

AppendFn = Callable[[bytes, int], Awaitable[int]]

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


class ReadingBuffer:
    """The sink every driver writes to: a bounded FIFO of readings."""

    def __init__(self, capacity: int, batch_size: int, batch_bytes: int = DEFAULT_BATCH_BYTES) -> None:
        self.capacity = capacity
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        #: ``encoded_bound`` summed over the buffered readings
        self.bytes = 0
        self.accepted = 0
        self.overflow = 0
        self.rejected: collections.Counter[str] = collections.Counter()
        self._good_series: set[tuple[str, str]] = set()
        self._items: collections.deque[Reading] = collections.deque()
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
        n = len(items)
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

    def _reject(self, reading: object, reason: str) -> None:
        self.rejected[reason] += 1
        total = sum(self.rejected.values())
        if total <= 10 or total % 1000 == 0:
            log.warning(
                "reading rejected: the v1 schema would refuse it",
                extra={"reason": reason, "reading": repr(reading)[:200], "rejected_readings": total},
            )

    def __len__(self) -> int:
        return len(self._items)

    def take(self, n: int, max_bytes: int | None = None) -> list[Reading]:
        """Up to ``n`` readings, in order, whose ``encoded_bound`` sums to at most
        ``max_bytes`` (default ``batch_bytes``); always at least one if any is waiting."""
        items = self._items
        limit = self.batch_bytes if max_bytes is None else max_bytes
        out: list[Reading] = []
        used = 0
        while items and len(out) < n:
            r = items[0]
            size = len(r.device) + len(r.metric) + _READING_OVERHEAD
            if out and used + size > limit:
                break
            out.append(items.popleft())
            used += size
        self.bytes -= used
        if items:
            self.first_at = time.monotonic()
        return out

    async def wait(self, limit_s: float | None) -> None:
        """Until something was put into an empty buffer, a batch filled, or ``limit_s`` passed."""
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), limit_s)
        except TimeoutError:
            pass

    def poke(self) -> None:
        self._wake.set()


class Batcher:
    """Groups buffered readings into batches by count or delay and appends them."""

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
        self.last_seq = 0

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
            if len(buf) < self.max_readings and buf.bytes < self.max_bytes and not self._stopping:
                remaining = buf.first_at + self.max_delay_s - time.monotonic()
                if remaining > 0:
                    await buf.wait(remaining)
                    continue
            await self._flush_one()

    async def _flush_one(self) -> None:
        readings = self.buffer.take(self.max_readings, self.max_bytes)
        seq = await self._append(self._enc.encode(readings), len(readings))
        self.batches += 1
        self.readings += len(readings)
        self.last_seq = seq
        self._on_appended(seq)
