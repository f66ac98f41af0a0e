"""Urgent batches ahead of the backlog, and every entry's state in one place (the uplink at
the transport seam, a real outbox)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec

from bohsense.contracts.codec import decode_batch, encode, encode_events
from bohsense.contracts.events import Alarm, Event, decode_event
from bohsense.contracts.schema import CloudAck, Reading
from bohsense.contracts.timeutil import now_ns
from bohsense.edge.outbox import Outbox, ThreadedOutbox
from bohsense.edge.outbox_state import EntryState
from bohsense.edge.uplink import Uplink
from tests.edge.conftest import until
from tests.edge.test_uplink import FakeTransport, _settle

ALARM = Event("gw", "device.alarm", 1_700_000_000_000_000_000, Alarm("door.open", "critical", True))


async def _uplink(
    tmp_path: Path, entries: int, urgent: set[int], window: int
) -> tuple[Uplink, FakeTransport, ThreadedOutbox, Outbox, list[asyncio.Task[None]]]:
    raw = Outbox(tmp_path / "o.db", max_rows=10**6, max_bytes=10**9, max_age_s=3600, synchronous="normal")
    for i in range(1, entries + 1):
        payload = msgspec.msgpack.encode([Reading("d", "m", i, 0.0)])
        if i in urgent:
            raw.append(payload, 1, event_payload=encode_events([ALARM]), events=1, urgent=True)
        else:
            raw.append(payload, 1)
    outbox = ThreadedOutbox(raw)
    fake = FakeTransport()
    up = Uplink(
        gateway="gw-1", site="s", outbox=outbox, transport=fake, max_inflight=window, resend_after_s=3600
    )
    up.start()
    tasks = [asyncio.create_task(up.send_loop()), asyncio.create_task(up.inbox_loop())]
    return up, fake, outbox, raw, tasks


async def _close(outbox: ThreadedOutbox, tasks: list[asyncio.Task[None]]) -> None:
    for t in tasks:
        t.cancel()
    await outbox.close()


def _seqs(fake: FakeTransport) -> list[int]:
    return [seq for _, seq in fake.batches()]


async def test_urgent_entries_go_before_the_backlog_and_nothing_goes_twice(tmp_path: Path) -> None:
    up, fake, outbox, _raw, tasks = await _uplink(tmp_path, entries=30, urgent={12, 25}, window=5)
    up.on_connected(session_present=False)
    await until(lambda: len(fake.batches()) == 5, 2, "the first window")
    await _settle()
    assert _seqs(fake) == [12, 25, 1, 2, 3], "the urgent entries fill the window first"
    while len(fake.batches()) < 30:
        n = len(fake.batches())
        for mid, _ in fake.batches()[-5:]:
            up.on_puback(mid)
        await until(lambda n=n: len(fake.batches()) > n, 2, "the window refilled")
        await _settle()
    assert _seqs(fake) == [12, 25, *(s for s in range(1, 31) if s not in (12, 25))], "each seq once"
    urgent = [decode_batch(p) for _, t, p, _ in fake.published if t.endswith("/readings")][:2]
    assert [(b.seq, b.urgent, [decode_event(w) for w in b.events], b.floor) for b in urgent] == [
        (12, True, [ALARM], 1), (25, True, [ALARM], 1),
    ], "sent with their events, the floor still the lowest held seq"  # fmt: skip
    assert up.counters["sent_urgent"] == 2
    await _close(outbox, tasks)


async def test_after_a_reconnect_the_urgent_ones_lead_again_and_the_client_keeps_its_own(
    tmp_path: Path,
) -> None:
    up, fake, outbox, _raw, tasks = await _uplink(tmp_path, entries=10, urgent={8}, window=100)
    up.on_connected(session_present=False)
    await until(lambda: len(fake.batches()) == 10, 2, "all sent")
    for mid, seq in fake.batches():
        if seq not in (2, 3):
            up.on_puback(mid)  # 2 and 3 stay with the client
    await _settle()
    assert up.states.seqs(EntryState.INFLIGHT) == [2, 3]
    assert up.states[8] is EntryState.PUBLISHED
    up.on_disconnected("broker gone")
    up.on_connected(session_present=True)
    await until(lambda: len(fake.batches()) == 18, 2, "the resend")
    await _settle()
    assert _seqs(fake)[10:] == [8, 1, 4, 5, 6, 7, 9, 10], "urgent first; 2 and 3 are the client's to resend"
    await _close(outbox, tasks)


async def test_a_puback_after_the_cloud_ack_leaves_the_entry_deleted(tmp_path: Path) -> None:
    up, fake, outbox, _raw, tasks = await _uplink(tmp_path, entries=4, urgent=set(), window=10)
    up.on_connected(session_present=False)
    await until(lambda: len(fake.batches()) == 4, 2, "all sent")
    up.on_message("bohsense/v1/gw/gw-1/ack", encode(CloudAck(gateway="gw-1", upto=3, ts=now_ns())))
    await until(lambda: outbox.snapshot.depth == 1, 2, "1-3 deleted")
    assert [up.states[s] for s in (1, 2, 3, 4)] == [EntryState.DELETED] * 3 + [EntryState.INFLIGHT]
    for mid, _ in fake.batches():
        up.on_puback(mid)  # the broker's PUBACKs come after the cloud's ack: no contradiction
    assert [up.states[s] for s in (1, 2, 3, 4)] == [EntryState.DELETED] * 3 + [EntryState.PUBLISHED]
    assert (up.counters["published"], up.counters["puback_after_end"]) == (1, 3)
    assert up.states.inflight == 0
    await _close(outbox, tasks)


async def test_an_entry_dropped_while_with_the_client_is_dropped_and_its_puback_changes_nothing(
    tmp_path: Path,
) -> None:
    up, fake, outbox, raw, tasks = await _uplink(tmp_path, entries=3, urgent=set(), window=10)
    raw.max_rows = 3
    up.on_connected(session_present=False)
    await until(lambda: len(fake.batches()) == 3, 2, "all sent")
    await outbox.append(b"\x90", 0, event_payload=encode_events([ALARM]), events=1, urgent=True)  # drops 1
    up.wake()
    await until(lambda: len(fake.batches()) == 4, 2, "the urgent one")
    assert up.states[1] is EntryState.DROPPED
    up.on_puback(fake.batches()[0][0])
    assert up.states[1] is EntryState.DROPPED
    assert up.states.inflight == 3
    s = outbox.snapshot
    assert (s.dropped_batches, s.lost_batches) == (1, 0), "it had been handed over: in doubt"
    await _close(outbox, tasks)


async def test_an_urgent_entry_sent_ahead_does_not_make_the_backlog_look_sent(tmp_path: Path) -> None:
    up, fake, outbox, _raw, tasks = await _uplink(tmp_path, entries=10, urgent={9}, window=1)
    up.on_connected(session_present=False)
    await until(lambda: len(fake.batches()) == 1, 2, "the urgent one alone")
    await _settle()
    assert _seqs(fake) == [9]
    # the walk fetched 1 too (marked: at most one window ahead), the window had no room for it
    assert outbox.snapshot.sent_upto == 1, "the walk's mark stays at the backlog's start"
    out = await outbox.ack(10)  # a forged ack covering all: 9 was sent, 2-8 and 10 were not
    assert (out.deleted, out.unsent) == (10, 8), "the never-sent backlog is counted lost; 9 is not"
    await _close(outbox, tasks)


async def test_a_resend_timeout_resends_the_published_urgent_first_and_leaves_the_clients_own(
    tmp_path: Path,
) -> None:
    up, fake, outbox, _raw, tasks = await _uplink(tmp_path, entries=6, urgent={5}, window=100)
    up.resend_after_s = 0.3
    tasks.append(asyncio.create_task(up.resend_loop(tick_s=0.05)))
    up.on_connected(session_present=False)
    await until(lambda: len(fake.batches()) == 6, 2, "all sent")
    for mid, seq in fake.batches():
        if seq != 2:
            up.on_puback(mid)  # 2 stays with the client
    await until(lambda: up.counters["resend_timeouts"] >= 1, 3, "the resend timeout")
    await until(lambda: len(fake.batches()) >= 11, 2, "the resend")
    assert _seqs(fake)[6:11] == [5, 1, 3, 4, 6], "urgent first; 2 is the client's"
    assert up.states[2] is EntryState.INFLIGHT
    await _close(outbox, tasks)
