"""Events through the sink: in the same batch and seq as readings, bounded by the same
size and count, an urgent one closing its batch at once, a bad one rejected with its reason."""

from __future__ import annotations

import asyncio
import collections
import time
from pathlib import Path

import msgspec
import pytest

from bohsense.contracts.codec import decode_batch, encode_raw_batch
from bohsense.contracts.events import Alarm, Event, LaneChange, decode_event
from bohsense.contracts.schema import Reading, WireEvent
from bohsense.edge import batcher as batcher_module
from bohsense.edge.batcher import Batcher, ReadingBuffer
from bohsense.edge.outbox import Entry, Outbox, ThreadedOutbox
from tests.edge.conftest import until

TS = 1_700_000_000_000_000_000


def reading(i: int) -> Reading:
    return Reading("dev-1", "temp_c", TS + i, float(i))


def pick(i: int) -> Event:
    return Event("shelf-1", "shelf.pick", TS + i, LaneChange("lane-1", 1, 0.9, -250.0, 10 - i % 10))


def alarm(i: int, message: str = "") -> Event:
    return Event("gw", "device.alarm", TS + i, Alarm("door.open", "critical", True, message))


def make(
    tmp_path: Path, *, max_readings: int = 100, delay: float = 0.05, max_bytes: int = 512 * 1024
) -> tuple[ReadingBuffer, Batcher, ThreadedOutbox, Outbox]:
    raw = Outbox(tmp_path / "o.db", max_rows=10**6, max_bytes=10**9, max_age_s=3600)
    outbox = ThreadedOutbox(raw)
    buf = ReadingBuffer(10_000, max_readings, batch_bytes=max_bytes)
    b = Batcher(buf, outbox.append, max_readings=max_readings, max_delay_s=delay, max_bytes=max_bytes)
    return buf, b, outbox, raw


def wire(entry: Entry) -> tuple[list[Reading], list[Event], bool]:
    """The entry as the cloud receives it."""
    batch = decode_batch(
        encode_raw_batch(
            gateway="gw-1",
            seq=entry.seq,
            sent=TS,
            readings=entry.payload,
            events=entry.event_payload or None,
            urgent=entry.urgent,
        )
    )
    return batch.readings, [decode_event(w) for w in batch.events], batch.urgent


async def test_events_travel_with_readings_in_one_batch_under_its_seq(tmp_path: Path) -> None:
    buf, batcher, outbox, raw = make(tmp_path, delay=0.05)
    task = asyncio.create_task(batcher.run())
    for i in range(5):
        buf.put(reading(i))
        batcher.put_event(pick(i))  # the batcher is a sink too: the same buffer
    await until(lambda: batcher.batches == 1, 2, "one batch after the delay")
    batcher.stop()
    await asyncio.wait_for(task, 2)
    (entry,) = raw.fetch(0, 10)
    assert (entry.seq, entry.readings, entry.events, entry.urgent) == (1, 5, 5, False)
    readings, events, urgent = wire(entry)
    assert readings == [reading(i) for i in range(5)]
    assert events == [pick(i) for i in range(5)], "order kept, attributes intact"
    assert not urgent
    assert (batcher.readings, batcher.events, buf.events_accepted) == (5, 5, 5)
    await outbox.close()


async def test_an_urgent_event_closes_its_batch_at_once_and_marks_it(tmp_path: Path) -> None:
    buf, batcher, outbox, raw = make(tmp_path, delay=60)
    task = asyncio.create_task(batcher.run())
    for i in range(20):
        buf.put(reading(i))
    buf.put_event(pick(0))  # not urgent: waits for the batch interval like a reading
    await asyncio.sleep(0.3)
    assert batcher.batches == 0
    t0 = time.monotonic()
    buf.put_event(alarm(1))
    await until(lambda: batcher.batches == 1, 2, "the urgent batch, without the 60 s delay")
    assert time.monotonic() - t0 < 1.0
    (entry,) = raw.fetch(0, 10)
    readings, events, urgent = wire(entry)
    assert urgent
    assert entry.urgent
    assert events == [pick(0), alarm(1)]
    assert len(readings) == 20, "what was waiting goes with it"
    assert buf.urgent == 0
    buf.put(reading(99))
    await asyncio.sleep(0.3)
    assert batcher.batches == 1, "after the urgent batch, the interval applies again"
    batcher.stop()
    await asyncio.wait_for(task, 2)
    assert [e.urgent for e in raw.fetch(0, 10)] == [True, False]
    assert batcher.urgent_batches == 1
    await outbox.close()


async def test_an_urgent_event_behind_a_backlog_of_readings_goes_in_the_next_batch(tmp_path: Path) -> None:
    buf, batcher, outbox, raw = make(tmp_path, max_readings=100, delay=60)
    for i in range(1000):  # ten batches of readings waiting (the batcher is not running)
        buf.put(reading(i))
    buf.put_event(alarm(0))
    task = asyncio.create_task(batcher.run())
    await until(lambda: batcher.batches == 10, 5, "the backlog")
    batcher.stop()
    await asyncio.wait_for(task, 2)
    entries = raw.fetch(0, 100)
    assert [e.urgent for e in entries][:2] == [True, False], "events go before the readings"
    assert [e.events for e in entries] == [1] + [0] * (len(entries) - 1)
    assert [r.value for e in entries for r in wire(e)[0]] == [float(i) for i in range(1000)]
    await outbox.close()


async def test_count_and_size_bounds_include_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batcher_module, "MAX_EVENTS_PER_BATCH", 7)
    buf, batcher, outbox, raw = make(tmp_path, max_readings=10, delay=0.05, max_bytes=4096)
    for i in range(30):
        buf.put_event(pick(i))
        buf.put(reading(i))
    big = [alarm(100 + i, "x" * 500) for i in range(20)]  # ~540 bytes each: 7 fill 4 KiB
    for ev in big:
        buf.put_event(ev)
    task = asyncio.create_task(batcher.run())
    await until(lambda: len(buf) == 0, 5, "everything batched")
    batcher.stop()
    await asyncio.wait_for(task, 2)
    entries = raw.fetch(0, 1000)
    assert all(e.readings + e.events <= 10 for e in entries), "max_readings counts events"
    assert all(e.events <= 7 for e in entries), "MAX_EVENTS_PER_BATCH"
    assert max(len(e.payload) + len(e.event_payload) for e in entries) <= 4096 + 10
    got = [ev for e in entries for ev in wire(e)[1]]
    assert got == [pick(i) for i in range(30)] + big, "every event, in order"
    assert [r.value for e in entries for r in wire(e)[0]] == [float(i) for i in range(30)]
    assert buf.bytes == 0
    await outbox.close()


def test_the_size_of_an_event_is_its_encoding() -> None:
    for ev in (pick(1), alarm(2), alarm(3, "é" * 512)):
        assert batcher_module.event_problem(ev) == ("", len(msgspec.msgpack.encode(ev)))


async def test_events_the_cloud_would_refuse_are_rejected_with_their_reason(tmp_path: Path) -> None:
    buf, batcher, outbox, raw = make(tmp_path, delay=0.01)
    bad: list[tuple[object, str]] = [
        (Event("bad device", "device.alarm", TS, Alarm("x", "info", True)), "event-device"),
        (Event("", "device.alarm", TS, Alarm("x", "info", True)), "event-device"),
        (Event("gw", "device.alarm", -1, Alarm("x", "info", True)), "bad-ts"),
        (Event("gw", "device.alarm", 2**63, Alarm("x", "info", True)), "bad-ts"),
        (Event("gw", "device.alarm", TS, Alarm("Not A Code", "info", True)), "event-attrs"),
        (Event("gw", "device.alarm", TS, Alarm("x", "loud", True)), "event-attrs"),  # type: ignore[arg-type]
        (Event("shelf", "shelf.pick", TS, LaneChange("lane-1", 0, 0.5, 1.0, 1)), "event-attrs"),
        (Event("shelf", "shelf.pick", TS, LaneChange("lane-1", 1, 1.5, 1.0, 1)), "event-attrs"),
        (WireEvent("gw", "device.alarm", TS, msgspec.Raw(b"\x80")), "not-an-event"),
        (("gw", "device.alarm", TS, {}), "not-an-event"),
    ]
    task = asyncio.create_task(batcher.run())
    for i in range(12):
        buf.put_event(pick(i))
        if i < len(bad):
            buf.put_event(bad[i][0])  # type: ignore[arg-type]
    batcher.stop()
    await asyncio.wait_for(task, 2)
    assert buf.rejected_events == collections.Counter(reason for _, reason in bad)
    assert buf.urgent == 0, "a rejected urgent event does not hold the batcher"
    assert [ev for e in raw.fetch(0, 100) for ev in wire(e)[1]] == [pick(i) for i in range(12)]
    await outbox.close()


async def test_a_full_buffer_drops_and_counts_events_too(tmp_path: Path) -> None:
    raw = Outbox(tmp_path / "o.db", max_rows=10**6, max_bytes=10**9, max_age_s=3600)
    outbox = ThreadedOutbox(raw)
    buf = ReadingBuffer(10, 100)
    for i in range(8):
        buf.put(reading(i))
    for i in range(4):
        buf.put_event(alarm(i))
    assert (len(buf), buf.events_accepted, buf.event_overflow, buf.urgent) == (10, 2, 2, 2)
    await outbox.close()
