"""Batching by count and by delay into a real outbox; the bounded sink buffer."""

from __future__ import annotations

import asyncio
import collections
import time
from pathlib import Path

import msgspec

from bohsense.contracts.schema import Reading
from bohsense.edge.batcher import Batcher, ReadingBuffer
from bohsense.edge.outbox import Outbox, ThreadedOutbox
from tests.edge.conftest import until

TS = 1_700_000_000_000_000_000


def reading(i: int) -> Reading:
    return Reading("dev-1", "temp_c", TS + i, float(i))


def make(
    tmp_path: Path, *, capacity: int = 10_000, max_readings: int = 100, delay: float = 0.05
) -> tuple[ReadingBuffer, Batcher, ThreadedOutbox, Outbox]:
    raw = Outbox(tmp_path / "o.db", max_rows=10**6, max_bytes=10**9, max_age_s=3600)
    outbox = ThreadedOutbox(raw)
    buf = ReadingBuffer(capacity, max_readings)
    return buf, Batcher(buf, outbox.append, max_readings=max_readings, max_delay_s=delay), outbox, raw


def decoded(raw: Outbox) -> list[list[Reading]]:
    dec = msgspec.msgpack.Decoder(list[Reading])
    return [dec.decode(e.payload) for e in raw.fetch(0, 10**6)]


async def test_full_batches_go_at_once_and_the_rest_after_the_delay(tmp_path: Path) -> None:
    buf, batcher, outbox, raw = make(tmp_path, max_readings=100, delay=1.5)
    task = asyncio.create_task(batcher.run())
    t0 = time.monotonic()
    for i in range(250):
        buf.put(reading(i))
    await until(lambda: batcher.batches == 2, 1.2, "two full batches before the delay")
    await until(lambda: batcher.batches == 3, 5, "the partial batch after the delay")
    assert time.monotonic() - t0 >= 1.5
    batches = decoded(raw)
    assert [len(b) for b in batches] == [100, 100, 50]
    assert [r.value for b in batches for r in b] == [float(i) for i in range(250)], "order kept"
    assert [e.seq for e in raw.fetch(0, 10)] == [1, 2, 3]
    assert batcher.readings == buf.accepted == 250
    batcher.stop()
    await asyncio.wait_for(task, 2)
    await outbox.close()


async def test_stop_flushes_what_is_buffered(tmp_path: Path) -> None:
    buf, batcher, outbox, raw = make(tmp_path, max_readings=100, delay=60)
    task = asyncio.create_task(batcher.run())
    for i in range(30):
        buf.put(reading(i))
    await asyncio.sleep(0)
    assert batcher.batches == 0
    batcher.stop()
    await asyncio.wait_for(task, 2)
    assert [len(b) for b in decoded(raw)] == [30]
    await outbox.close()


async def test_a_full_buffer_drops_and_counts_without_blocking(tmp_path: Path) -> None:
    buf, batcher, outbox, raw = make(tmp_path, capacity=50, max_readings=10)
    # the batcher is not running: nothing drains the buffer
    for i in range(80):
        buf.put(reading(i))
    assert len(buf) == 50
    assert buf.accepted == 50
    assert buf.overflow == 30
    task = asyncio.create_task(batcher.run())
    await until(lambda: len(buf) == 0, 2, "drained")
    buf.put(reading(100))
    batcher.stop()
    await asyncio.wait_for(task, 2)
    values = [r.value for b in decoded(raw) for r in b]
    assert values == [float(i) for i in range(50)] + [100.0], "nothing lost around the overflow"
    await outbox.close()


async def test_readings_the_schema_would_refuse_are_rejected_and_the_rest_kept(tmp_path: Path) -> None:
    buf, batcher, outbox, raw = make(tmp_path, max_readings=100, delay=0.01)
    bad: list[tuple[object, str]] = [
        (Reading("bad device", "temp_c", TS, 1.0), "bad-device"),
        (Reading("", "temp_c", TS, 1.0), "bad-device"),
        (Reading("dev-1", "x" * 129, TS, 1.0), "bad-metric"),
        (Reading("dev-1", "temp_c", -1, 1.0), "bad-ts"),
        (Reading("dev-1", "temp_c", 2**63, 1.0), "bad-ts"),
        (Reading("dev-1", "temp_c", 1.5, 1.0), "bad-ts"),  # type: ignore[arg-type]
        (Reading("dev-1", "temp_c", TS, "hot"), "bad-value"),  # type: ignore[arg-type]
        (Reading("dev-1", "temp_c", TS, True), "bad-value"),
        (("dev-1", "temp_c", TS, 1.0), "not-a-reading"),
    ]
    task = asyncio.create_task(batcher.run())
    for i in range(20):
        buf.put(reading(i))
        if i < len(bad):
            buf.put(bad[i][0])  # type: ignore[arg-type]
    batcher.stop()
    await asyncio.wait_for(task, 2)
    expected = collections.Counter(reason for _, reason in bad)
    assert buf.rejected == expected
    values = [r.value for b in decoded(raw) for r in b]
    assert values == [float(i) for i in range(20)], "every good reading kept, in order"
    await outbox.close()


def test_the_size_bound_holds_for_the_largest_readings() -> None:
    from bohsense.edge.batcher import encoded_bound

    for name in ("d", "d" * 31, "d" * 32, "d" * 128):
        for ts in (0, 2**63 - 1):
            for value in (0.0, -1e308, 2**63 - 1, -(2**63)):
                r = Reading(name, name[::-1], ts, value)  # type: ignore[arg-type]
                assert len(msgspec.msgpack.encode(r)) <= encoded_bound(r), (name, ts, value)


async def test_a_batch_closes_at_max_bytes_before_max_readings(tmp_path: Path) -> None:
    raw = Outbox(tmp_path / "o.db", max_rows=10**6, max_bytes=10**9, max_age_s=3600)
    outbox = ThreadedOutbox(raw)
    buf = ReadingBuffer(100_000, 10_000, batch_bytes=20_000)
    batcher = Batcher(buf, outbox.append, max_readings=10_000, max_delay_s=60, max_bytes=20_000)
    task = asyncio.create_task(batcher.run())
    long_name = "x" * 128
    for i in range(1000):  # 157 or 280 bytes each: 11 batches by size, long before the count or the delay
        buf.put(Reading(long_name if i % 2 else "short", long_name, TS + i, float(i)))
    await until(lambda: batcher.batches >= 10, 5, "batches closed by size")
    batcher.stop()
    await asyncio.wait_for(task, 2)
    sizes = [len(e.payload) for e in raw.fetch(0, 100)]
    assert max(sizes) <= 20_000 + 5
    assert [r.value for b in decoded(raw) for r in b] == [float(i) for i in range(1000)], (
        "order, nothing lost"
    )
    assert buf.bytes == 0
    await outbox.close()
