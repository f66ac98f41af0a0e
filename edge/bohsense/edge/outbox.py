"""The durable outbox: every batch is committed to SQLite before it is published.

One SQLite file (WAL mode) holds the entries and the counters that must survive a
restart or a ``kill -9``: the next sequence number and the dropped batches/readings/events::

    entries(seq INTEGER PRIMARY KEY, created INTEGER, readings INTEGER, payload BLOB,
            events INTEGER, event_payload BLOB, urgent INTEGER, sent_ahead INTEGER)
    meta(key TEXT PRIMARY KEY, value INTEGER)   -- next_seq, dropped_batches, dropped_readings,
                                                -- dropped_events, lost_*,
                                                -- status_epoch (the last MQTT connection's epoch),
                                                -- sent_upto (highest seq ever handed to MQTT)

``payload`` is the MessagePack array of the batch's readings, ``event_payload`` that of
its events (NULL when it has none; ``events`` counts them); ``urgent`` marks a batch
that carries an urgent event, sent before the backlog after an outage (see
``bohsense.edge.uplink``). The envelope (gateway, seq, sent, floor, site, urgent) is
added when the entry is published (``contracts.codec.encode_raw_batch``), so that
``floor`` and ``sent`` are true at send time. The entry life cycle is
``bohsense.edge.outbox_state``.

Schema versions (``PRAGMA user_version``): 0 is the first release (entries without
``events``, ``event_payload``, ``urgent``, ``sent_ahead``); opening such a file adds
the columns in place, in one transaction, and keeps every entry (as a batch of
readings, not urgent); the current version is ``SCHEMA_VERSION``. A file of a newer
version than this gateway knows is refused with ``OutboxError`` rather than misread.

Durability trade-off (``synchronous``):
- ``full`` (default): each append is fsynced before it returns. An appended batch
  survives a crash, ``kill -9`` and a power cut, and a sequence number is never reused.
  Cost: one fsync per batch, i.e. at most ``1000 / batch.max_delay_ms`` fsyncs per
  second at low load and one per ``batch.max_readings`` readings at high load.
- ``normal``: WAL commits reach the OS but are fsynced only at checkpoints. A crash or
  ``kill -9`` loses nothing; a power cut may roll back the last appends *and* the
  sequence counter with them, so a sequence number already published may be reused
  for other readings and the cloud would discard those as duplicates. Use it only on
  storage where fsync is too slow and power is protected.

Overflow policy: the outbox is bounded by ``max_rows``, ``max_bytes`` and ``max_age_s``.
When an append would exceed a size limit, the *oldest* entries are dropped (the newest
entry is always kept) in the same transaction; entries older than ``max_age_s`` are
dropped by ``expire``. Every dropped batch and its readings are added to the persisted
``dropped_*`` counters, and ``floor`` (the lowest seq still held) moves past them, so
the cloud can tell an accounted gap from a loss.

A full disk (``SQLITE_FULL``) before the size limits: the failed transaction is rolled
back, the WAL checkpointed, and the append retried holding less (``_FULL_SHRINK`` of the
bytes held, dropping the oldest entries as above). When no retry fits, the batch is
refused with ``OutboxFullError`` and counted in ``dropped_*`` and ``lost_*`` (in memory at
once, in the file with the next commit that succeeds); the held entries stay intact and
the gateway goes on. On a truly full disk the retries rarely help (a delete needs WAL
pages too), so expect the newest batches refused and counted until space returns.

What is really lost: an entry dropped before it was ever handed to the MQTT client
(``seq > sent_upto`` and not ``sent_ahead``, see below) is lost for certain and is also added to ``lost_*``. One dropped
after it was sent is *in doubt* (``dropped_* - lost_*``): the broker accepted it and
delivers it to the cloud unless the broker itself loses it. With the cloud down and the
broker up, every dropped entry is in doubt and none is lost; with the broker down, the
lost ones are exactly those that never reached it. ``GatewayStatus.dropped`` reports
the lost readings, ``GatewayStatus.dropped_in_doubt`` the ones in doubt.

Sequence numbers: ``next_seq`` never passes ``MAX_SEQ`` (2⁴⁸: a gateway making 1,000
batches a second takes ~8,900 years to get there), so a CloudAck asking for a rebase
beyond it is refused as implausible (a forged or corrupt ack) instead of pushing the
counter towards 2⁶³ where the next append would overflow; ``append`` refuses to go past
it with ``OutboxError`` rather than overflow.

Acks of what was never sent: ``sent_upto`` is the highest seq ever handed to the MQTT
client, kept before the hand-over (``mark_sent``, raised to the last entry the uplink fetched
to send, so it may run ahead of what was sent by at most one in-flight window; committed
without fsync: a crash or ``kill -9`` keeps it, a power cut may roll it back). A CloudAck can only truly cover
seqs the cloud received, i.e. ones that were sent; entries an ack deletes above
``sent_upto`` (a forged ack) were never stored by any cloud and are counted as dropped
(``ack(…, count_unsent=True)``), so the loss is reported, never hidden.

Urgent entries go out ahead of the seq order (``fetch_urgent``): ``sent_upto`` stays the
walk's mark and each urgent entry handed over above it is flagged ``sent_ahead`` in its
row (``mark_sent_ahead``, before the hand-over), so an entry sent early is in doubt when
dropped, and the unsent ones below it stay lost for certain.

Every count of what is dropped is kept for events as for readings (``dropped_events``,
``lost_events``).

One process owns an outbox at a time (SQLite exclusive locking mode); a second agent
on the same file fails at start with ``OutboxError``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bohsense.contracts.timeutil import now_ns
from bohsense.edge.errors import OutboxError, OutboxFullError

__all__ = [
    "MAX_SEQ",
    "SCHEMA_VERSION",
    "AckOutcome",
    "Entry",
    "Outbox",
    "OutboxStats",
    "ThreadedOutbox",
    "ToSend",
]

T = TypeVar("T")

#: the highest sequence number an outbox ever assigns (see the module doc)
MAX_SEQ = 2**48
#: the outbox file's schema version (``PRAGMA user_version``; see the module doc)
SCHEMA_VERSION = 1

_SCHEMA = """
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
INSERT OR IGNORE INTO meta VALUES ('dropped_events', 0), ('lost_events', 0);
"""
#: the columns version 1 added to ``entries`` (a version-0 file gets them in place)
_V1_COLUMNS = (
    ("events", "INTEGER NOT NULL DEFAULT 0"),
    ("event_payload", "BLOB"),
    ("urgent", "INTEGER NOT NULL DEFAULT 0"),
    ("sent_ahead", "INTEGER NOT NULL DEFAULT 0"),
)
_V1_INDEX = "CREATE INDEX IF NOT EXISTS entries_urgent ON entries (seq) WHERE urgent"
#: on a full disk, an append is retried holding this fraction of the bytes held, then the
#: next (dropping the oldest entries); after the last it is refused with ``OutboxFullError``
_FULL_SHRINK = (0.75, 0.5, 0.25, 0.0)
#: the stored size of an entry
_SIZE = "length(payload) + coalesce(length(event_payload), 0)"
#: an entry never handed to the MQTT client (``?`` is ``sent_upto``)
_UNSENT = "(seq > ? AND NOT sent_ahead)"


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    readings: int
    payload: bytes
    events: int = 0
    #: the encoded events (empty when there are none)
    event_payload: bytes = b""
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class ToSend:
    """What the uplink may send next: urgent entries from one seq on, and held entries in
    seq order from another, with the floor read in the same call."""

    floor: int
    urgent: list[Entry]
    entries: list[Entry]


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int
    bytes: int
    next_seq: int
    floor: int
    dropped_batches: int
    dropped_readings: int
    #: of the dropped, those never handed to the MQTT client: lost for certain
    lost_batches: int = 0
    lost_readings: int = 0
    #: the epoch of the last MQTT connection the gateway opened (``GatewayStatus.epoch``)
    epoch: int = 0
    #: the highest seq ever handed to the MQTT client
    sent_upto: int = 0
    #: events in the dropped / lost batches
    dropped_events: int = 0
    lost_events: int = 0
    #: when the oldest held batch was written (ns since the epoch; 0: the outbox is empty)
    oldest_created: int = 0


@dataclass(frozen=True, slots=True)
class AckOutcome:
    """What a CloudAck did: entries deleted, and of those how many were never sent
    (counted as dropped, with their readings)."""

    deleted: int
    unsent: int = 0
    unsent_readings: int = 0
    unsent_events: int = 0


class Outbox:
    """The outbox proper: synchronous, used from one thread at a time."""

    def __init__(
        self,
        path: str | Path,
        *,
        max_rows: int,
        max_bytes: int,
        max_age_s: float,
        synchronous: str = "full",
    ) -> None:
        if synchronous not in ("full", "normal"):
            raise OutboxError(f"outbox synchronous must be 'full' or 'normal', not {synchronous!r}")
        self.path = Path(path)
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.max_age_ns = int(max_age_s * 1e9)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=1.0)
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise OutboxError(f"outbox {str(self.path)!r}: SQLite refused WAL mode (got {mode!r})")
            self._synchronous = synchronous.upper()
            self._db.execute(f"PRAGMA synchronous={self._synchronous}")
            self._db.executescript(_SCHEMA)
            self._migrate()
            row = self._db.execute(
                f"SELECT count(*), coalesce(sum({_SIZE}), 0), min(seq) FROM entries"
            ).fetchone()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise OutboxError(f"outbox {str(self.path)!r} is in use by another process") from exc
            raise OutboxError(f"outbox {str(self.path)!r} cannot be opened: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise OutboxError(f"outbox {str(self.path)!r} is not a usable SQLite database: {exc}") from exc
        self._rows, self._bytes, self._min = int(row[0]), int(row[1]), row[2]
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        self._next_seq = int(meta["next_seq"])
        self._dropped_batches = int(meta["dropped_batches"])
        self._dropped_readings = int(meta["dropped_readings"])
        self._dropped_events = int(meta["dropped_events"])
        self._lost_batches = int(meta["lost_batches"])
        self._lost_readings = int(meta["lost_readings"])
        self._lost_events = int(meta["lost_events"])
        self._epoch = int(meta["status_epoch"])
        self._sent_upto = int(meta["sent_upto"])
        last = self._db.execute("SELECT max(seq) FROM entries WHERE urgent").fetchone()[0]
        #: the highest seq of an urgent entry appended (0: none held since the start)
        self.urgent_last = int(last or 0)
        #: batches refused on a full disk, counted in memory until a commit can persist them
        self._full_dropped = _Dropped()
        #: appends that met a full disk and made room by dropping the oldest entries
        self.disk_full_appends = 0

    # -- queries -------------------------------------------------------------------------

    @property
    def floor(self) -> int:
        """The lowest seq still held (``next_seq`` when empty): nothing below is ever sent again."""
        return int(self._min) if self._min is not None else self._next_seq

    @property
    def next_seq(self) -> int:
        return self._next_seq

    def stats(self) -> OutboxStats:
        oldest = None
        if self._rows:  # the primary key's first row: one index probe
            with contextlib.suppress(sqlite3.ProgrammingError):  # closed: the last stats of a stop
                oldest = self._db.execute("SELECT created FROM entries ORDER BY seq LIMIT 1").fetchone()
        return OutboxStats(
            oldest_created=int(oldest[0]) if oldest else 0,
            depth=self._rows,
            bytes=self._bytes,
            next_seq=self._next_seq,
            floor=self.floor,
            dropped_batches=self._dropped_batches,
            dropped_readings=self._dropped_readings,
            lost_batches=self._lost_batches,
            lost_readings=self._lost_readings,
            epoch=self._epoch,
            sent_upto=self._sent_upto,
            dropped_events=self._dropped_events,
            lost_events=self._lost_events,
        )

    def fetch(self, from_seq: int, limit: int) -> list[Entry]:
        """Up to ``limit`` held entries with ``seq >= from_seq``, in seq order."""
        rows = self._db.execute(
            f"SELECT {_ENTRY} FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?", (from_seq, limit)
        ).fetchall()
        return [_entry(r) for r in rows]

    def fetch_urgent(self, from_seq: int, limit: int) -> list[Entry]:
        """Up to ``limit`` held urgent entries with ``seq >= from_seq``, in seq order."""
        rows = self._db.execute(
            f"SELECT {_ENTRY} FROM entries WHERE urgent AND seq >= ? ORDER BY seq LIMIT ?", (from_seq, limit)
        ).fetchall()
        return [_entry(r) for r in rows]

    # -- changes -------------------------------------------------------------------------

    def append(
        self,
        payload: bytes,
        readings: int,
        created: int | None = None,
        *,
        event_payload: bytes = b"",
        events: int = 0,
        urgent: bool = False,
    ) -> int:
        """Commit one batch and return its seq; drop the oldest entries beyond the size limits.

        ``payload`` holds the ``readings`` encoded, ``event_payload`` the ``events``."""
        if bool(events) != bool(event_payload):
            raise OutboxError(f"outbox append: {events} events but {len(event_payload)} bytes of them")
        seq = self._next_seq
        if seq > MAX_SEQ:
            raise OutboxError(
                f"outbox {str(self.path)!r}: sequence numbers exhausted (next_seq {seq} > {MAX_SEQ})"
            )
        created = now_ns() if created is None else created
        limit = self.max_bytes
        for attempt in range(len(_FULL_SHRINK) + 1):
            saved = self._counters()
            try:
                self._append_once(seq, created, payload, readings, event_payload, events, urgent, limit)
                break
            except sqlite3.OperationalError as exc:
                self._restore_counters(saved)
                if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_FULL:
                    raise
                with contextlib.suppress(sqlite3.Error):  # give the WAL's pages back to the disk
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                if attempt == len(_FULL_SHRINK):
                    self._full_dropped.add(readings, events)
                    self._dropped_batches += 1
                    self._dropped_readings += readings
                    self._dropped_events += events
                    self._lost_batches += 1
                    self._lost_readings += readings
                    self._lost_events += events
                    raise OutboxFullError(
                        f"outbox {str(self.path)!r}: the disk is full and no held entry left to drop;"
                        f" a batch of {readings} readings and {events} events is dropped (counted)"
                    ) from exc
                # the disk is full before the size limits: hold less, dropping the oldest (counted)
                limit = max(1, int(min(limit, self._bytes) * _FULL_SHRINK[attempt]))
        self.disk_full_appends += attempt
        return seq

    def _append_once(
        self,
        seq: int,
        created: int,
        payload: bytes,
        readings: int,
        event_payload: bytes,
        events: int,
        urgent: bool,
        max_bytes: int,
    ) -> None:
        rows, size = self._rows + 1, self._bytes + len(payload) + len(event_payload)
        new_min = seq if self._min is None else self._min
        with self._tx():
            self._db.execute(
                "INSERT INTO entries (seq, created, readings, payload, events, event_payload, urgent)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, created, readings, payload, events, event_payload or None, int(urgent)),
            )
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (seq + 1,))
            if rows > self.max_rows or size > max_bytes:
                rows, size = self._drop_oldest(rows, size, keep=seq, max_bytes=max_bytes)
                new_min = self._db.execute("SELECT min(seq) FROM entries").fetchone()[0]
            if self._full_dropped.batches:  # batches a full disk refused earlier: persist their count
                full = self._full_dropped
                self._persist_dropped(full, full)
        self._full_dropped = _Dropped()
        self._next_seq = seq + 1
        self._rows, self._bytes, self._min = rows, size, new_min
        if urgent:
            self.urgent_last = seq

    def ack(self, upto: int, *, count_unsent: bool = False) -> int:
        """Delete every entry with ``seq <= upto`` (a CloudAck covers them); return how many.

        With ``count_unsent``, deleted entries above ``sent_upto`` are counted as dropped."""
        return self.ack_outcome(upto, count_unsent=count_unsent).deleted

    def ack_outcome(self, upto: int, *, count_unsent: bool = True) -> AckOutcome:
        """``ack`` with the whole outcome (how many deleted entries were never sent)."""
        if self._min is None or upto < self._min:
            return AckOutcome(0)
        unsent = unsent_readings = unsent_events = 0
        with self._tx():
            n, size = self._db.execute(
                f"SELECT count(*), coalesce(sum({_SIZE}), 0) FROM entries WHERE seq <= ?", (upto,)
            ).fetchone()
            if count_unsent and upto > self._sent_upto:
                unsent, unsent_readings, unsent_events = self._db.execute(
                    "SELECT count(*), coalesce(sum(readings), 0), coalesce(sum(events), 0) FROM entries"
                    f" WHERE {_UNSENT} AND seq <= ?",
                    (self._sent_upto, upto),
                ).fetchone()
                if unsent:
                    lost = _Dropped(int(unsent), int(unsent_readings), int(unsent_events))
                    self._count_dropped(lost, lost)
            self._db.execute("DELETE FROM entries WHERE seq <= ?", (upto,))
        self._rows -= int(n)
        self._bytes -= int(size)
        self._min = self._db.execute("SELECT min(seq) FROM entries").fetchone()[0]
        return AckOutcome(int(n), int(unsent), int(unsent_readings), int(unsent_events))

    def mark_sent(self, seq: int) -> None:
        """Entries up to ``seq`` are about to be handed to the MQTT client (see the module doc)."""
        if seq <= self._sent_upto:
            return
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'sent_upto'", (seq,))
        finally:
            self._db.execute(f"PRAGMA synchronous={self._synchronous}")
        self._sent_upto = seq

    def mark_sent_ahead(self, seqs: list[int]) -> None:
        """Urgent entries ``seqs`` are about to be handed to the MQTT client ahead of the
        seq order (see the module doc): flag those above ``sent_upto`` in their rows."""
        ahead = [(s,) for s in seqs if s > self._sent_upto]
        if not ahead:
            return
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            with self._tx():
                self._db.executemany("UPDATE entries SET sent_ahead = 1 WHERE seq = ?", ahead)
        finally:
            self._db.execute(f"PRAGMA synchronous={self._synchronous}")

    def expire(self, now: int | None = None) -> int:
        """Drop (and count) entries older than ``max_age_s``; return how many batches."""
        cutoff = (now_ns() if now is None else now) - self.max_age_ns
        up = self._sent_upto
        with self._tx():
            n, readings, events, size, lost, lost_readings, lost_events = self._db.execute(
                "SELECT count(*), coalesce(sum(readings), 0), coalesce(sum(events), 0),"
                f" coalesce(sum({_SIZE}), 0), coalesce(sum({_UNSENT}), 0),"
                f" coalesce(sum(CASE WHEN {_UNSENT} THEN readings ELSE 0 END), 0),"
                f" coalesce(sum(CASE WHEN {_UNSENT} THEN events ELSE 0 END), 0)"
                " FROM entries WHERE created < ?",
                (up, up, up, cutoff),
            ).fetchone()
            if n:
                self._db.execute("DELETE FROM entries WHERE created < ?", (cutoff,))
                self._count_dropped(
                    _Dropped(int(n), int(readings), int(events)),
                    _Dropped(int(lost), int(lost_readings), int(lost_events)),
                )
        if n:
            self._rows -= int(n)
            self._bytes -= int(size)
            self._min = self._db.execute("SELECT min(seq) FROM entries").fetchone()[0]
        return int(n)

    def rebase(self, upto: int) -> int:
        """The cloud acknowledged ``upto >= next_seq``: this outbox's counter went back
        (a replaced disk). Renumber the held entries to start at ``upto + 1`` and move
        ``next_seq`` past them, so the cloud does not discard them as duplicates.
        Return the shift applied (0 when nothing had to move)."""
        if upto < self._next_seq:
            return 0
        if upto + self._rows >= MAX_SEQ:
            raise OutboxError(f"rebase past {upto} would take next_seq beyond {MAX_SEQ}: refused")
        start = self._min if self._min is not None else self._next_seq
        shift = upto + 1 - start
        with self._tx():
            self._db.execute("UPDATE entries SET seq = -(seq + ?)", (shift,))
            self._db.execute("UPDATE entries SET seq = -seq")
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (self._next_seq + shift,))
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'sent_upto'", (upto,))
            self._db.execute("UPDATE entries SET sent_ahead = 0")
        self._next_seq += shift
        if self.urgent_last:
            self.urgent_last += shift
        self._sent_upto = upto  # the held entries are unsent under their new numbers
        if self._min is not None:
            self._min += shift
        return shift

    def record_epoch(self, epoch: int) -> None:
        """Keep ``epoch`` (of a connection just opened) if it is the highest so far."""
        if epoch <= self._epoch:
            return
        with self._tx():
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'status_epoch'", (epoch,))
        self._epoch = epoch

    def close(self) -> None:
        self._db.close()

    # -- internals -----------------------------------------------------------------------

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)

    def _migrate(self) -> None:
        """Bring a file of an older schema version to ``SCHEMA_VERSION``, in place."""
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise OutboxError(
                f"outbox {str(self.path)!r} has schema version {version}, newer than this gateway's"
                f" {SCHEMA_VERSION}: refused rather than misread"
            )
        have = {row[1] for row in self._db.execute("PRAGMA table_info(entries)")}
        with self._tx():
            for name, decl in _V1_COLUMNS:
                if name not in have:
                    self._db.execute(f"ALTER TABLE entries ADD COLUMN {name} {decl}")
            self._db.execute(_V1_INDEX)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _drop_oldest(self, rows: int, size: int, keep: int, max_bytes: int | None = None) -> tuple[int, int]:
        """Delete the oldest entries (never ``keep``) until within limits; return new (rows, bytes)."""
        max_bytes = self.max_bytes if max_bytes is None else max_bytes
        dropped, lost = _Dropped(), _Dropped()
        last = None
        cur = self._db.execute(
            f"SELECT seq, readings, events, {_SIZE}, sent_ahead FROM entries WHERE seq < ? ORDER BY seq",
            (keep,),
        )
        for seq, n, n_events, length, ahead in cur:
            if rows <= self.max_rows and size <= max_bytes:
                break
            rows -= 1
            size -= int(length)
            dropped.add(int(n), int(n_events))
            if seq > self._sent_upto and not ahead:
                lost.add(int(n), int(n_events))
            last = int(seq)
        cur.close()
        if last is not None:
            self._db.execute("DELETE FROM entries WHERE seq <= ?", (last,))
            self._count_dropped(dropped, lost)
        return rows, size

    def _count_dropped(self, dropped: _Dropped, lost: _Dropped) -> None:
        self._persist_dropped(dropped, lost)
        self._dropped_batches += dropped.batches
        self._dropped_readings += dropped.readings
        self._dropped_events += dropped.events
        self._lost_batches += lost.batches
        self._lost_readings += lost.readings
        self._lost_events += lost.events

    def _persist_dropped(self, dropped: _Dropped, lost: _Dropped) -> None:
        for key, n in (
            ("dropped_batches", dropped.batches),
            ("dropped_readings", dropped.readings),
            ("dropped_events", dropped.events),
            ("lost_batches", lost.batches),
            ("lost_readings", lost.readings),
            ("lost_events", lost.events),
        ):
            if n:
                self._db.execute("UPDATE meta SET value = value + ? WHERE key = ?", (n, key))

    def _counters(self) -> tuple[int, ...]:
        return (
            self._dropped_batches,
            self._dropped_readings,
            self._dropped_events,
            self._lost_batches,
            self._lost_readings,
            self._lost_events,
        )

    def _restore_counters(self, saved: tuple[int, ...]) -> None:
        """Undo what a rolled-back transaction counted in memory."""
        (
            self._dropped_batches,
            self._dropped_readings,
            self._dropped_events,
            self._lost_batches,
            self._lost_readings,
            self._lost_events,
        ) = saved


_ENTRY = "seq, readings, payload, events, event_payload, urgent"


def _entry(row: tuple[int, int, bytes, int, bytes | None, int]) -> Entry:
    seq, n, payload, n_events, event_payload, urgent = row
    return Entry(int(seq), int(n), bytes(payload), int(n_events), bytes(event_payload or b""), bool(urgent))


@dataclass(slots=True)
class _Dropped:
    """Batches, readings and events dropped together."""

    batches: int = 0
    readings: int = 0
    events: int = 0

    def add(self, readings: int, events: int) -> None:
        self.batches += 1
        self.readings += readings
        self.events += events


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error:  # e.g. the disk is full: the transaction is still open
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise
        else:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                self._db.execute("ROLLBACK")


class ThreadedOutbox:
    """The outbox for the event loop: every call runs on one dedicated thread, in order,
    so an fsync never stalls the loop. ``stats`` is a snapshot taken after each call."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="outbox")
        self.snapshot = outbox.stats()

    async def _call(self, fn: Callable[[], T]) -> T:
        def run() -> tuple[T, OutboxStats]:
            try:
                result = fn()
            except OutboxFullError:  # the refused batch is counted: the snapshot shows it
                self.snapshot = self._outbox.stats()
                raise
            return result, self._outbox.stats()

        result, self.snapshot = await asyncio.get_running_loop().run_in_executor(self._pool, run)
        return result

    @property
    def disk_full_appends(self) -> int:
        """Appends that met a full disk and dropped the oldest entries to make room."""
        return self._outbox.disk_full_appends

    async def append(
        self,
        payload: bytes,
        readings: int,
        *,
        event_payload: bytes = b"",
        events: int = 0,
        urgent: bool = False,
    ) -> int:
        return await self._call(
            lambda: self._outbox.append(
                payload, readings, event_payload=event_payload, events=events, urgent=urgent
            )
        )

    async def fetch(self, from_seq: int, limit: int, *, mark_sent: bool = False) -> tuple[int, list[Entry]]:
        """``(floor, entries)`` read together; with ``mark_sent``, ``sent_upto`` is raised to
        the last entry fetched before they are returned (the uplink is about to send them)."""

        def run() -> tuple[int, list[Entry]]:
            entries = self._outbox.fetch(from_seq, limit)
            if mark_sent and entries:
                self._outbox.mark_sent(entries[-1].seq)
            return self._outbox.floor, entries

        return await self._call(run)

    async def to_send(self, urgent_from: int, from_seq: int, limit: int) -> ToSend:
        """Up to ``limit`` urgent entries from ``urgent_from`` on and up to ``limit`` held
        entries from ``from_seq`` on, both marked sent (``mark_sent_ahead``, ``mark_sent``)
        before they are returned: the uplink is about to send them."""

        def run() -> ToSend:
            ob = self._outbox
            urgent = ob.fetch_urgent(urgent_from, limit) if urgent_from <= ob.urgent_last else []
            if urgent:
                ob.mark_sent_ahead([e.seq for e in urgent])
            entries = ob.fetch(from_seq, limit)
            if entries:
                ob.mark_sent(entries[-1].seq)
            return ToSend(ob.floor, urgent, entries)

        return await self._call(run)

    async def fetch_urgent(self, from_seq: int, limit: int, *, mark_sent: bool = False) -> list[Entry]:
        """Held urgent entries from ``from_seq`` on; with ``mark_sent``, those above
        ``sent_upto`` are flagged ``sent_ahead`` before they are returned."""

        def run() -> list[Entry]:
            entries = self._outbox.fetch_urgent(from_seq, limit)
            if mark_sent and entries:
                self._outbox.mark_sent_ahead([e.seq for e in entries])
            return entries

        return await self._call(run)

    async def ack(self, upto: int) -> AckOutcome:
        """Delete up to ``upto``; deleted entries that were never sent are counted as dropped."""
        return await self._call(lambda: self._outbox.ack_outcome(upto))

    async def mark_sent(self, seq: int) -> None:
        await self._call(lambda: self._outbox.mark_sent(seq))

    async def expire(self) -> int:
        return await self._call(self._outbox.expire)

    async def rebase(self, upto: int) -> int:
        return await self._call(lambda: self._outbox.rebase(upto))

    async def record_epoch(self, epoch: int) -> None:
        await self._call(lambda: self._outbox.record_epoch(epoch))

    async def close(self) -> None:
        await self._call(self._outbox.close)
        self._pool.shutdown(wait=True)
