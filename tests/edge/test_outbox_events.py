"""The outbox with events and urgency: the in-place upgrade of an older file, event counts
in every drop, urgent entries fetched ahead, and what sending ahead means for the loss."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from bohsense.edge.errors import OutboxError
from bohsense.edge.outbox import SCHEMA_VERSION, Entry, Outbox
from tests.edge.test_outbox import open_outbox

#: the outbox schema of the first release (schema version 0), as it wrote its files
V0_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    created INTEGER NOT NULL,
    readings INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('next_seq', 1), ('dropped_batches', 0), ('dropped_readings', 0);
INSERT OR IGNORE INTO meta VALUES ('status_epoch', 0);
INSERT OR IGNORE INTO meta SELECT 'lost_batches', value FROM meta WHERE key = 'dropped_batches';
INSERT OR IGNORE INTO meta SELECT 'lost_readings', value FROM meta WHERE key = 'dropped_readings';
INSERT OR IGNORE INTO meta SELECT 'sent_upto', value - 1 FROM meta WHERE key = 'next_seq';
"""


def _v0_file(path: Path) -> None:
    """An outbox left by the previous version: entries 3-5 held, 1-2 acked, 4 readings dropped."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(V0_SCHEMA)
    now = time.time_ns()
    db.executemany(
        "INSERT INTO entries VALUES (?, ?, ?, ?)",
        [(s, now, 10 * s, f"readings-{s}".encode()) for s in (3, 4, 5)],
    )
    db.executescript(
        "UPDATE meta SET value = 6 WHERE key = 'next_seq';"
        "UPDATE meta SET value = 4 WHERE key IN ('dropped_readings', 'lost_readings');"
        "UPDATE meta SET value = 1 WHERE key IN ('dropped_batches', 'lost_batches');"
        "UPDATE meta SET value = 4 WHERE key = 'sent_upto';"
    )
    db.close()


def test_an_outbox_of_the_previous_version_opens_in_place_and_keeps_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    _v0_file(path)
    ob = open_outbox(path)
    assert ob.fetch(0, 10) == [Entry(s, 10 * s, f"readings-{s}".encode()) for s in (3, 4, 5)], (
        "every entry kept, as a batch of readings without events, not urgent"
    )
    s = ob.stats()
    assert (s.next_seq, s.depth, s.floor, s.sent_upto) == (6, 3, 3, 4)
    assert (s.dropped_batches, s.dropped_readings, s.lost_readings) == (1, 4, 4)
    assert (s.dropped_events, s.lost_events) == (0, 0)
    assert s.bytes == sum(len(f"readings-{i}") for i in (3, 4, 5))
    assert ob.append(b"r", 1, event_payload=b"ev", events=1, urgent=True) == 6
    ob.close()
    again = open_outbox(path)  # a second open finds the new version and changes nothing
    assert [(e.seq, e.events, e.urgent) for e in again.fetch(0, 10)] == [
        (3, 0, False), (4, 0, False), (5, 0, False), (6, 1, True),
    ]  # fmt: skip
    assert again.ack(5) == 3
    again.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_an_outbox_of_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    open_outbox(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(OutboxError, match="newer than this gateway's"):
        Outbox(path, max_rows=10, max_bytes=10**6, max_age_s=60)


def test_events_are_stored_counted_and_fetched_and_urgent_entries_apart(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db")
    ob.append(b"r1", 1)
    ob.append(b"r2", 2, event_payload=b"e2", events=3)
    ob.append(b"", 0, event_payload=b"alarm", events=1, urgent=True)
    ob.append(b"r4", 4)
    ob.append(b"r5", 5, event_payload=b"alarm2", events=2, urgent=True)
    assert ob.fetch(2, 1) == [Entry(2, 2, b"r2", 3, b"e2", False)]
    assert ob.fetch_urgent(0, 10) == [
        Entry(3, 0, b"", 1, b"alarm", True),
        Entry(5, 5, b"r5", 2, b"alarm2", True),
    ]
    assert [e.seq for e in ob.fetch_urgent(4, 10)] == [5]
    assert ob.stats().bytes == len(b"r1r2e2alarmr4r5alarm2")
    with pytest.raises(OutboxError, match="3 events but 0 bytes"):
        ob.append(b"x", 1, events=3)
    assert ob.next_seq == 6, "nothing appended"
    ob.close()


def test_drops_count_events_and_an_urgent_entry_sent_ahead_is_in_doubt_not_lost(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db", max_rows=4)
    ob.append(b"a", 10, event_payload=b"e", events=1)  # 1
    ob.append(b"b", 10)  # 2
    ob.append(b"c", 10, event_payload=b"alarm", events=2, urgent=True)  # 3
    ob.append(b"d", 10, event_payload=b"e", events=4)  # 4
    ob.mark_sent(1)  # the walk handed over 1
    ob.mark_sent_ahead([1, 3])  # 3 went ahead of 2 (1 is below the mark: nothing to flag)
    assert ob.stats().sent_upto == 1, "sending ahead does not move the walk's mark"
    for _ in range(3):
        ob.append(b"z", 10)  # 5-7: drops 1 (sent), 2 (never sent), 3 (sent ahead)
    s = ob.stats()
    assert (s.dropped_batches, s.dropped_readings, s.dropped_events) == (3, 30, 3)
    assert (s.lost_batches, s.lost_readings, s.lost_events) == (1, 10, 0)
    assert ob.expire(now=time.time_ns() + 10**18) == 4  # 4-7, never sent: lost
    s = ob.stats()
    assert (s.dropped_events, s.lost_events) == (7, 4)
    ob.close()
    again = open_outbox(tmp_path / "o.db", max_rows=4).stats()
    assert (again.dropped_events, again.lost_events) == (7, 4), "both survive a restart"


def test_an_ack_of_what_was_never_sent_counts_its_events_but_not_those_sent_ahead(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db")
    for i in range(4):
        ob.append(b"r", 1, event_payload=b"e", events=2, urgent=i == 2)
    ob.mark_sent(1)
    ob.mark_sent_ahead([3])
    out = ob.ack_outcome(4)
    assert (out.deleted, out.unsent, out.unsent_readings, out.unsent_events) == (4, 2, 2, 4)
    assert ob.stats().lost_events == 4
    ob.close()


def test_a_rebase_clears_sent_ahead_with_the_old_numbers(tmp_path: Path) -> None:
    ob = open_outbox(tmp_path / "o.db")
    ob.append(b"r", 1, event_payload=b"e", events=1, urgent=True)
    ob.mark_sent_ahead([1])
    assert ob.rebase(100) == 100
    assert ob.ack_outcome(101).unsent == 1, "under its new number it was never sent"
    ob.close()
