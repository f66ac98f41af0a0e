"""The durable outbox on a real SQLite file: seq, limits, counters, durability, states."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bohsense.edge.errors import OutboxError, OutboxStateError
from bohsense.edge.outbox import Outbox
from bohsense.edge.outbox_state import EntryEvent, EntryState, transition

BIG = 10**9


def open_outbox(path: Path, **limits: float) -> Outbox:
    kw: dict[str, float] = {"max_rows": BIG, "max_bytes": BIG, "max_age_s": 3600.0} | limits
    return Outbox(
        path, max_rows=int(kw["max_rows"]), max_bytes=int(kw["max_bytes"]), max_age_s=kw["max_age_s"]
    )


def test_append_assigns_monotonic_seq_and_fetch_returns_in_order(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db")
    seqs = [ob.append(f"p{i}".encode(), readings=i + 1) for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    got = ob.fetch(0, 10)
    assert [e.seq for e in got] == seqs
    assert [e.payload for e in got] == [b"p0", b"p1", b"p2", b"p3", b"p4"]
    assert [e.seq for e in ob.fetch(3, 2)] == [3, 4]
    assert ob.stats().depth == 5
    assert ob.floor == 1


def test_ack_deletes_up_to_and_moves_the_floor(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db")
    for _ in range(5):
        ob.append(b"x" * 10, 3)
    assert ob.ack(3) == 3
    assert ob.floor == 4
    assert ob.stats().bytes == 20
    assert ob.ack(3) == 0, "a repeated ack is harmless"
    assert ob.ack(0) == 0
    assert ob.ack(5) == 2
    assert ob.floor == ob.next_seq == 6
    assert ob.stats().dropped_batches == 0


def test_seq_and_counters_survive_reopen(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db", max_rows=2)
    for _ in range(4):
        ob.append(b"abc", 7)
    ob.close()
    again = open_outbox(tmp_path / "o.db", max_rows=2)
    s = again.stats()
    assert (s.next_seq, s.depth, s.floor, s.dropped_batches, s.dropped_readings) == (5, 2, 3, 2, 14)
    assert again.append(b"d", 1) == 5


def test_overflow_by_rows_drops_oldest_and_counts(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db", max_rows=3)
    for i in range(10):
        ob.append(b"x", readings=i + 1)
    s = ob.stats()
    assert [e.seq for e in ob.fetch(0, 100)] == [8, 9, 10]
    assert s.dropped_batches == 7
    assert s.dropped_readings == sum(range(1, 8))
    assert s.floor == 8


def test_overflow_by_bytes_keeps_the_newest_entry(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db", max_bytes=100)
    ob.append(b"a" * 60, 1)
    ob.append(b"b" * 60, 1)
    assert [e.seq for e in ob.fetch(0, 10)] == [2]
    ob.append(b"c" * 500, 1)  # bigger than the limit on its own: kept, older ones go
    assert [e.seq for e in ob.fetch(0, 10)] == [3]
    assert ob.stats().dropped_batches == 2
    assert ob.stats().bytes == 500


def test_expire_drops_old_entries_and_counts(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db", max_age_s=10)
    now = time.time_ns()
    ob.append(b"old", 4, created=now - 20 * 10**9)
    ob.append(b"new", 5, created=now)
    assert ob.expire(now) == 1
    assert [e.seq for e in ob.fetch(0, 10)] == [2]
    assert ob.stats().dropped_readings == 4
    assert ob.floor == 2


def test_rebase_renumbers_held_entries_past_a_cloud_ack(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db")
    for p in (b"a", b"b", b"c"):
        ob.append(p, 1)
    ob.ack(1)
    assert ob.rebase(2) == 0, "an ack below next_seq needs no rebase"
    assert ob.rebase(100) == 99
    assert [(e.seq, e.payload) for e in ob.fetch(0, 10)] == [(101, b"b"), (102, b"c")]
    assert ob.append(b"d", 1) == 103
    ob.close()
    assert open_outbox(tmp_path / "o.db").next_seq == 104


def test_second_process_cannot_open_a_held_outbox(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db")
    ob.append(b"a", 1)
    with pytest.raises(OutboxError, match="in use"):
        open_outbox(tmp_path / "o.db")
    ob.close()


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "o.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(OutboxError, match="not a usable SQLite database"):
        open_outbox(bad)


def test_bad_synchronous_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutboxError, match="synchronous"):
        Outbox(tmp_path / "o.db", max_rows=1, max_bytes=1, max_age_s=1, synchronous="off")


@pytest.mark.parametrize("sync", ["full", "normal"])
def test_seq_and_dropped_counters_survive_kill_9(tmp_path: Path, sync: str) -> None:
    path = tmp_path / "o.db"
    code = textwrap.dedent(
        f"""
        import sys
        from bohsense.edge.outbox import Outbox
        ob = Outbox({str(path)!r}, max_rows=50, max_bytes=10**12, max_age_s=3600, synchronous={sync!r})
        while True:
            seq = ob.append(b"r" * 200, 10)
            sys.stdout.write(f"{{seq}}\\n")
            sys.stdout.flush()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    reported = 0
    while reported < 300:
        reported = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    ob = open_outbox(path)
    s = ob.stats()
    seqs = [e.seq for e in ob.fetch(0, 10**7)]
    assert seqs == list(range(s.floor, s.next_seq)), "no gap, no reused seq"
    assert s.depth == 50
    assert s.next_seq - 1 >= reported, "every append reported before the kill is counted"
    assert s.dropped_batches == s.next_seq - 1 - 50, "the dropped counter committed with the appends"
    assert s.dropped_readings == 10 * s.dropped_batches


def test_state_table_allows_the_documented_life_and_nothing_else() -> None:
    s = transition(EntryState.PENDING, EntryEvent.SEND)
    assert s is EntryState.INFLIGHT
    s = transition(s, EntryEvent.PUBACK)
    assert s is EntryState.PUBLISHED
    assert transition(s, EntryEvent.CONNECTION_LOST) is EntryState.PENDING
    assert transition(s, EntryEvent.RESEND_TIMEOUT) is EntryState.PENDING
    assert transition(s, EntryEvent.CLOUD_ACK) is EntryState.DELETED
    assert transition(EntryState.INFLIGHT, EntryEvent.OVERFLOW) is EntryState.DROPPED
    with pytest.raises(OutboxStateError, match="'puback' is not allowed in state 'pending'"):
        transition(EntryState.PENDING, EntryEvent.PUBACK)
    for terminal in (EntryState.DELETED, EntryState.DROPPED):
        # a PUBACK that comes after the entry ended leaves it ended; nothing else is allowed
        assert transition(terminal, EntryEvent.PUBACK) is terminal
        for event in set(EntryEvent) - {EntryEvent.PUBACK}:
            with pytest.raises(OutboxStateError):
                transition(terminal, event)


def test_seq_never_overflows_and_an_absurd_rebase_is_refused(tmp_path: Path) -> None:
    from bohsense.edge.outbox import MAX_SEQ

    ob = open_outbox(tmp_path / "o.db")
    ob.append(b"a", 1)
    with pytest.raises(OutboxError, match="beyond"):
        ob.rebase(2**63 - 2)
    assert ob.next_seq == 2, "nothing moved"
    assert ob.rebase(MAX_SEQ - 2) == MAX_SEQ - 2
    assert ob.append(b"b", 1) == MAX_SEQ
    with pytest.raises(OutboxError, match="sequence numbers exhausted"):
        ob.append(b"c", 1)
    assert [e.seq for e in ob.fetch(0, 10)] == [MAX_SEQ - 1, MAX_SEQ], "the held entries are intact"
    ob.close()


def test_sent_upto_survives_reopen_and_an_upgraded_outbox_counts_its_held_entries_as_sent(
    tmp_path: Path,
) -> None:
    import sqlite3

    ob = open_outbox(tmp_path / "o.db")
    for _ in range(5):
        ob.append(b"x", 2)
    ob.mark_sent(3)
    ob.close()
    again = open_outbox(tmp_path / "o.db")
    assert again.stats().sent_upto == 3
    again.close()
    db = sqlite3.connect(tmp_path / "o.db")
    db.execute("DELETE FROM meta WHERE key = 'sent_upto'")  # as written by an older gateway
    db.commit()
    db.close()
    upgraded = open_outbox(tmp_path / "o.db")
    assert upgraded.stats().sent_upto == 5, "what an older gateway held may have been sent"
    assert upgraded.ack_outcome(5).unsent == 0
    upgraded.close()


def test_what_is_dropped_unsent_is_lost_and_what_was_sent_is_in_doubt(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db", max_rows=3)
    for _ in range(3):
        ob.append(b"x", 10)
    ob.mark_sent(2)  # 1-2 handed to the MQTT client, 3 not yet
    for _ in range(3):
        ob.append(b"y", 10)  # drops 1, 2 (sent: in doubt) and 3 (unsent: lost)
    s = ob.stats()
    assert (s.dropped_batches, s.dropped_readings) == (3, 30)
    assert (s.lost_batches, s.lost_readings) == (1, 10)
    assert ob.expire(now=time.time_ns() + 10**18) == 3  # 4-6, never sent: lost
    s = ob.stats()
    assert (s.dropped_readings, s.lost_readings) == (60, 40)
    ob.close()
    again = open_outbox(tmp_path / "o.db", max_rows=3).stats()
    assert (again.dropped_readings, again.lost_readings) == (60, 40), "both survive a restart"
