"""The uplink at the transport seam (a fake client), and the wire form of an entry."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from bohsense.contracts.codec import decode_batch, decode_status, encode, encode_raw_batch
from bohsense.contracts.schema import CloudAck, Reading, ReadingBatch
from bohsense.contracts.timeutil import now_ns
from bohsense.edge.outbox import Outbox, ThreadedOutbox
from bohsense.edge.uplink import Uplink
from tests.edge.conftest import until


def test_wire_batch_decodes_as_a_reading_batch_and_matches_its_encoding() -> None:
    readings = [Reading("d-1", "temp_c", 1_700_000_000_000_000_000 + i, i / 3) for i in range(5)]
    raw = msgspec.msgpack.encode(readings)
    wire = encode_raw_batch(gateway="gw-1", seq=42, sent=123, readings=raw, floor=40, site="site-a")
    expected = ReadingBatch(gateway="gw-1", seq=42, sent=123, readings=readings, floor=40, site="site-a")
    assert decode_batch(wire) == expected
    assert wire == encode(expected), "byte-identical to the contracts encoder"


class FakeTransport:
    """The transport seam: records what the uplink hands over; the test plays the broker."""

    def __init__(self) -> None:
        self.published: list[tuple[int, str, bytes, bool]] = []
        self.subscribed: list[str] = []
        self.events: Any = None
        self._mid = 0

    def start(self, events: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.events = events

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        self._mid = self._mid % 65535 + 1
        self.published.append((self._mid, topic, payload, retain))
        return self._mid

    def subscribe(self, topics: Sequence[str]) -> None:
        self.subscribed.extend(topics)

    def close(self, timeout: float) -> None:
        pass

    def batches(self) -> list[tuple[int, int]]:
        """(mid, seq) of every readings publish so far."""
        return [(mid, decode_batch(p).seq) for mid, t, p, _ in self.published if t.endswith("/readings")]


async def _uplink(
    tmp_path: Path, entries: int, window: int
) -> tuple[Uplink, FakeTransport, ThreadedOutbox, list[asyncio.Task[None]]]:
    raw = Outbox(tmp_path / "o.db", max_rows=10**6, max_bytes=10**9, max_age_s=3600, synchronous="normal")
    for i in range(entries):
        raw.append(msgspec.msgpack.encode([Reading("d", "m", 1 + i, 0.0)]), 1)
    outbox = ThreadedOutbox(raw)
    fake = FakeTransport()
    up = Uplink(
        gateway="gw-1", site="s", outbox=outbox, transport=fake, max_inflight=window, resend_after_s=3600
    )
    up.start()
    tasks = [asyncio.create_task(up.send_loop()), asyncio.create_task(up.inbox_loop())]
    return up, fake, outbox, tasks


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0.005)


async def test_the_window_bounds_what_the_client_holds_and_pubacks_refill_it(tmp_path: Path) -> None:
    up, fake, outbox, tasks = await _uplink(tmp_path, entries=300, window=50)
    up.wake()
    await _settle()
    assert fake.batches() == [], "nothing is handed over before the broker accepted the connection"
    up.on_connected(session_present=False)
    await until(lambda: len(fake.batches()) == 50, 2, "the first window")
    await _settle()
    assert [seq for _, seq in fake.batches()] == list(range(1, 51)), "at most the window, in seq order"
    for mid, _ in fake.batches()[:20]:
        up.on_puback(mid)
    await until(lambda: len(fake.batches()) == 70, 2, "refilled by 20")
    await _settle()
    assert len(fake.batches()) == 70
    up.on_puback(60_000)  # an unknown mid: ignored
    assert up.counters["published"] == 20
    for t in tasks:
        t.cancel()
    await outbox.close()


async def test_a_reconnect_resends_published_entries_but_not_those_the_client_holds(tmp_path: Path) -> None:
    up, fake, outbox, tasks = await _uplink(tmp_path, entries=10, window=100)
    up.on_connected(session_present=False)
    await until(lambda: len(fake.batches()) == 10, 2, "all sent")
    first = fake.batches()
    for mid, _ in first[:6]:
        up.on_puback(mid)  # 1-6 published; 7-10 still with the client
    await _settle()
    up.on_disconnected("network down")
    up.on_connected(session_present=True)
    await until(lambda: len(fake.batches()) == 16, 2, "the resend")
    await _settle()
    assert [seq for _, seq in fake.batches()[10:]] == [1, 2, 3, 4, 5, 6]
    assert fake.subscribed == ["bohsense/v1/gw/gw-1/ack", "bohsense/v1/gw/gw-1/cmd"] * 2
    births = [decode_status(p) for _, t, p, r in fake.published if t.endswith("/status")]
    assert [(b.state, b.outbox_depth, b.next_seq) for b in births] == [("online", 10, 11)] * 2
    assert all(r for _, t, _, r in fake.published if t.endswith("/status")), "status is retained"
    for t in tasks:
        t.cancel()
    await outbox.close()


async def test_a_cloud_ack_deletes_and_moves_the_floor_on_the_wire(tmp_path: Path) -> None:
    up, fake, outbox, tasks = await _uplink(tmp_path, entries=5, window=100)
    up.on_connected(session_present=False)
    await until(lambda: len(fake.batches()) == 5, 2, "all sent")
    up.on_message("bohsense/v1/gw/gw-1/ack", encode(CloudAck(gateway="gw-1", upto=3, ts=now_ns())))
    await until(lambda: outbox.snapshot.depth == 2, 2, "entries 1-3 deleted")
    for mid, _ in fake.batches():
        up.on_puback(mid)
    up.on_disconnected("x")
    up.on_connected(session_present=True)
    await until(lambda: len(fake.batches()) == 7, 2, "the resend of 4 and 5")
    resent = [decode_batch(p) for _, t, p, _ in fake.published[-2:]]
    assert [(b.seq, b.floor) for b in resent] == [(4, 4), (5, 4)]
    assert up.counters["acked"] == 3
    for t in tasks:
        t.cancel()
    await outbox.close()


async def test_every_connection_gets_its_own_will_and_its_birth_carries_the_same_epoch(
    tmp_path: Path, monkeypatch: Any
) -> None:
    up, fake, outbox, tasks = await _uplink(tmp_path, entries=2, window=10)
    will_1, epoch_1 = up.next_will()  # what the transport does before opening a connection
    up.on_connected(session_present=False, epoch=epoch_1)
    up.on_disconnected("WAN blip")
    will_2, epoch_2 = up.next_will()
    up.on_connected(session_present=True, epoch=epoch_2)
    await until(lambda: outbox.snapshot.epoch == epoch_2, 2, "the epoch kept in the outbox")
    wills = [decode_status(will_1), decode_status(will_2)]
    assert [(w.state, w.epoch) for w in wills] == [("lost", epoch_1), ("lost", epoch_2)]
    assert epoch_2 > epoch_1
    births = [decode_status(p) for _, t, p, _ in fake.published if t.endswith("/status")]
    assert [(b.state, b.epoch) for b in births] == [("online", epoch_1), ("online", epoch_2)]
    assert births[1].ts > wills[1].ts, "the birth is newer than its own will: ts alone cannot order them"
    for t in tasks:
        t.cancel()
    await outbox.close()

    # a restart with the clock stepped back still opens a newer epoch than the last one
    import bohsense.edge.uplink as uplink_module

    monkeypatch.setattr(uplink_module, "now_ns", lambda: 1_000)
    raw = Outbox(tmp_path / "o.db", max_rows=10, max_bytes=10**6, max_age_s=3600, synchronous="normal")
    reopened = ThreadedOutbox(raw)
    assert reopened.snapshot.epoch == epoch_2
    again = Uplink(gateway="gw-1", site="s", outbox=reopened, transport=FakeTransport())
    assert again.next_will()[1] == epoch_2 + 1
    await reopened.close()


async def test_an_ack_covering_batches_never_sent_counts_them_as_dropped(tmp_path: Path) -> None:
    up, fake, outbox, tasks = await _uplink(tmp_path, entries=10, window=3)
    up.on_connected(session_present=False)
    await until(lambda: len(fake.batches()) == 3, 2, "the first window")
    await _settle()
    assert outbox.snapshot.sent_upto == 3
    forged = CloudAck(gateway="gw-1", upto=10, ts=now_ns())  # covers 4-10, which no cloud ever got
    up.on_message("bohsense/v1/gw/gw-1/ack", encode(forged))
    await until(lambda: outbox.snapshot.depth == 0, 2, "deleted")
    s = outbox.snapshot
    assert (s.dropped_batches, s.dropped_readings) == (7, 7), "the loss is counted, not hidden"
    assert up.counters["acked_unsent"] == 7
    assert up.counters["acked"] == 3
    for mid, _ in fake.batches():
        up.on_puback(mid)
    up.on_disconnected("x")
    up.on_connected(session_present=True)
    await _settle()
    status = [decode_status(p) for _, t, p, _ in fake.published if t.endswith("/status")][-1]
    assert status.dropped == 7
    for t in tasks:
        t.cancel()
    await outbox.close()
