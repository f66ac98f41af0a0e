"""RFID presence: tag reads → ``rfid.item`` arrivals, moves and departures, and zone snapshots.

A reader session emits ``TagSeen`` (one tag on one antenna: reads between two UTC times,
the strongest RSSI) and ``Tick`` (time passes). ``PresenceInterpreter`` keeps, per tag
and per antenna that saw it, a smoothed RSSI (an EWMA of the reported peaks, factor
``rssi_alpha``) and the time of the last read; an antenna not heard from for
``antenna_stale_s`` no longer counts for the tag. Each antenna covers one zone
(``PresenceConfig.antennas``: ``(reader, antenna) → zone``); a zone's score for a tag is
the best of its fresh antennas' smoothed RSSI, each less ``miss_decay_db_s`` per second
since that antenna last read the tag (an antenna that stopped reading it, because it
moved away, stops holding it).

- **arrived**: a tag not present is seen ``arrive_reads`` times (within
  ``departure_s``): it arrives in its best zone;
- **moved**: another zone beats the tag's zone by ``hysteresis_db`` (or the tag's zone
  has no fresh antenna) continuously for ``move_dwell_s`` and ``move_reads`` reads in
  that zone: the tag moves there. A tag on the boundary of two zones, whose scores
  differ by less than the margin under noise, stays where it is;
- **departed**: a present tag is not read on any antenna for ``departure_s``
  (``exit_departure_s`` when its zone is one of ``exit_zones``, a door): it departs at
  that moment, decided by the first ``Tick`` or read at or after it.

Repeated reads are deduplicated: a report whose last read is not newer than the last
one of that tag on that antenna is counted (``duplicate``) and changes nothing. Reads
may arrive somewhat out of order (two readers report at their own pace); a read or
tick more than ``max_lateness_s`` behind the latest time seen is counted
(``out_of_order``) and dropped, so a stale report cannot bring back a departed tag.

Every ``snapshot_s`` of event time (at multiples of it) one ``rfid.zone_snapshot`` per
configured zone gives the present tags per GTIN-14 (SGTIN-96 EPCs) and ``other``.

Item events are the device of the reader that saw the tag strongest; snapshots are the
device ``PresenceConfig.device``. ``snapshot()`` is the present and pending tags with
their per-antenna state; after ``restore()`` no tag departs before ``departure_s`` has
passed from the first observation after the restore (the driver's first ``Tick``), so
a gateway restart, however long, makes no false departures; ``state_changed`` is set on
every transition (the RSSI state in between is not worth a write).

Bad data is counted by reason and never raises: ``bad_epc_length`` (empty, an odd number
of bytes, more than 496 bits), ``non_sgtin`` (each new tag whose EPC is not an SGTIN-96:
its ``gtin`` is ""), ``unmapped_antenna``, ``out_of_order``, ``bad_times`` (first after
last), ``bad_count`` (below 1), ``bad_rssi`` (NaN, infinite or beyond −128..127 dBm: the
read counts, its RSSI does not), ``duplicate``.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bohsense.contracts.epc import EpcError, Sgtin96
from bohsense.contracts.events import Event, ItemPresence, ZoneSnapshot
from bohsense.contracts.schema import valid_name
from bohsense.edge.interpreters._base import (
    Interpretation,
    InterpreterStateError,
    JsonState,
    Observation,
    TagSeen,
    Tick,
)

__all__ = ["PresenceConfig", "PresenceInterpreter"]

_S = 1_000_000_000
_MAX_EPC_BYTES = 62  # 496 bits
_MAX_READS = 2**31 - 1
_STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class PresenceConfig:
    """Zones per antenna and the decision parameters (seconds, dB)."""

    #: (reader id, antenna id) → the zone that antenna covers
    antennas: Mapping[tuple[str, int], str]
    #: door zones: a tag last there departs after ``exit_departure_s``
    exit_zones: frozenset[str] = frozenset()
    departure_s: float = 10.0
    exit_departure_s: float | None = None
    rssi_alpha: float = 0.6
    antenna_stale_s: float = 3.0
    #: how fast an antenna's score falls while it does not read the tag (dB per second)
    miss_decay_db_s: float = 4.0
    hysteresis_db: float = 3.0
    move_dwell_s: float = 1.0
    move_reads: int = 3
    arrive_reads: int = 2
    snapshot_s: float = 60.0
    max_lateness_s: float = 5.0
    #: the smoothed RSSI of an antenna whose reads carry none
    no_rssi_dbm: float = -80.0
    #: the device the zone snapshots are events of
    device: str = "rfid"
    zones: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        problems = []
        if not self.antennas:
            problems.append("no antenna is mapped to a zone")
        for (reader, antenna), zone in self.antennas.items():
            if not valid_name(reader) or not valid_name(zone) or not 0 <= antenna <= 65_535:
                problems.append(f"bad antenna mapping {reader!r}/{antenna!r} → {zone!r}")
        mapped = set(self.antennas.values())
        for zone in self.exit_zones:
            if zone not in mapped:
                problems.append(f"exit zone {zone!r} has no antenna")
        positive = ("departure_s", "antenna_stale_s", "snapshot_s")
        for name in positive:
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be > 0")
        if self.exit_departure_s is not None and not 0 < self.exit_departure_s <= self.departure_s:
            problems.append("exit_departure_s must be in (0, departure_s]")
        if not 0 < self.rssi_alpha <= 1:
            problems.append("rssi_alpha must be in (0, 1]")
        if not all(
            getattr(self, n) >= 0
            for n in ("hysteresis_db", "move_dwell_s", "max_lateness_s", "miss_decay_db_s")
        ):
            problems.append("hysteresis_db, move_dwell_s, max_lateness_s and miss_decay_db_s must be >= 0")
        if self.move_reads < 1 or self.arrive_reads < 1:
            problems.append("move_reads and arrive_reads must be >= 1")
        if not valid_name(self.device):
            problems.append(f"device {self.device!r} is not a valid name")
        if problems:
            raise ValueError("presence config: " + "; ".join(problems))

    def zone_names(self) -> tuple[str, ...]:
        """Every zone, in order of first mention (``zones`` first)."""
        return tuple(dict.fromkeys((*self.zones, *self.antennas.values())))


class _Antenna:
    __slots__ = ("last", "reads", "rssi")

    def __init__(self, rssi: float, last: int, reads: int) -> None:
        self.rssi = rssi
        self.last = last
        self.reads = reads


class _Tag:
    __slots__ = (
        "antennas",
        "cand",
        "cand_reads",
        "cand_since",
        "epc_hex",
        "gen",
        "grace_until",
        "gtin",
        "last",
        "reads",
        "serial",
        "zone",
    )

    def __init__(self, epc_hex: str, gtin: str, serial: str) -> None:
        self.epc_hex = epc_hex
        self.gtin = gtin
        self.serial = serial
        self.zone: str | None = None  # None: pending (not yet arrived)
        self.antennas: dict[tuple[str, int], _Antenna] = {}
        self.last = 0
        self.reads = 0
        self.cand: str | None = None
        self.cand_since = 0
        self.cand_reads = 0
        self.grace_until = 0
        self.gen = 0


def _decode(epc: bytes) -> tuple[str, str] | None:
    """GTIN-14 and serial of an SGTIN-96 EPC, or None."""
    if len(epc) != 12 or epc[0] != 0x30:
        return None
    try:
        sgtin = Sgtin96.from_bytes(epc)
    except EpcError:
        return None
    return sgtin.gtin14(), str(sgtin.serial)


class PresenceInterpreter:
    """Where every tag is, from the reads of the readers of one gateway (module doc)."""

    @classmethod
    def for_reader(
        cls, device_id: str, zones: Mapping[int, str], options: Mapping[str, Any]
    ) -> PresenceInterpreter:
        """The interpreter of one reader driver: ``zones`` maps its antennas to zones,
        ``options`` are ``PresenceConfig`` fields (``exit_zones`` a list); an unknown
        option or a bad value raises ``ValueError`` naming it."""
        known = {f for f in PresenceConfig.__dataclass_fields__ if f not in ("antennas", "device")}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"presence config: unknown option(s) {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = dict(options)
        if "exit_zones" in values:
            values["exit_zones"] = frozenset(values["exit_zones"])
        if "zones" in values:
            values["zones"] = tuple(values["zones"])
        antennas = {(device_id, int(a)): z for a, z in zones.items()}
        return cls(PresenceConfig(antennas=antennas, device=device_id, **values))

    def __init__(self, config: PresenceConfig) -> None:
        self.config = config
        c = config
        self._zone_of = dict(c.antennas)
        self._zones = c.zone_names()
        self._departure_ns = int(c.departure_s * _S)
        self._exit_ns = int((c.exit_departure_s or c.departure_s) * _S)
        self._stale_ns = int(c.antenna_stale_s * _S)
        self._dwell_ns = int(c.move_dwell_s * _S)
        self._decay = c.miss_decay_db_s / _S  # per ns
        self._late_ns = int(c.max_lateness_s * _S)
        self._snap_ns = int(c.snapshot_s * _S)
        self._tags: dict[bytes, _Tag] = {}
        self._heap: list[tuple[int, int, bytes]] = []  # (deadline, generation, epc)
        self._now: int | None = None
        self._next_snapshot: int | None = None
        self._grace_pending = False
        self._counts: Counter[str] = Counter()
        self._gen = 0  # tells a tag from an earlier one of the same EPC in the heap

    # -- the interpreter interface ------------------------------------------------------

    def observe(self, observation: Observation) -> Interpretation:
        out = Interpretation()
        try:
            if isinstance(observation, TagSeen):
                self._seen(observation, out)
            elif isinstance(observation, Tick):
                self._tick(observation.ts, out)
        except (TypeError, ValueError, OverflowError, AttributeError):
            self._counts["bad_observation"] += 1  # a field of the wrong type: nothing kept of it
        return out

    def counters(self) -> Mapping[str, int]:
        return dict(self._counts)

    def present(self) -> dict[str, str]:
        """EPC (hex) → zone of every present tag."""
        return {t.epc_hex: t.zone for t in self._tags.values() if t.zone is not None}

    def snapshot(self) -> JsonState:
        tags = {}
        for tag in self._tags.values():
            tags[tag.epc_hex] = {
                "zone": tag.zone,
                "last": tag.last,
                "reads": tag.reads,
                "grace_until": tag.grace_until,
                "antennas": [[r, a, s.rssi, s.last, s.reads] for (r, a), s in tag.antennas.items()],
            }
        return {
            "version": _STATE_VERSION,
            "now": self._now,
            "next_snapshot": self._next_snapshot,
            "tags": tags,
        }

    def restore(self, state: JsonState) -> None:
        try:
            if state.get("version") != _STATE_VERSION:
                raise InterpreterStateError(f"presence state version {state.get('version')!r} is not 1")
            tags: dict[bytes, _Tag] = {}
            for epc_hex, t in dict(state["tags"]).items():
                epc = bytes.fromhex(epc_hex)
                if not epc or len(epc) % 2 or len(epc) > _MAX_EPC_BYTES:
                    raise InterpreterStateError(f"presence state holds a bad EPC {epc_hex!r}")
                tag = self._new_tag(epc, count=False)
                zone = t["zone"]
                if zone is not None and zone not in self._zones:
                    zone = None  # a zone no longer configured: the tag must arrive again
                tag.zone = zone
                tag.last = int(t["last"])
                tag.reads = int(t["reads"])
                tag.grace_until = int(t.get("grace_until", 0))
                for r, a, rssi, last, reads in t["antennas"]:
                    key = (str(r), int(a))
                    if key in self._zone_of and math.isfinite(float(rssi)):
                        tag.antennas[key] = _Antenna(float(rssi), int(last), int(reads))
                tags[epc] = tag
            now = None if state["now"] is None else int(state["now"])
            nxt = None if state["next_snapshot"] is None else int(state["next_snapshot"])
        except InterpreterStateError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InterpreterStateError(f"presence state is malformed: {exc!r}") from exc
        self._tags = tags
        self._now = now
        self._next_snapshot = nxt
        self._grace_pending = True
        self._heap = []
        for epc, tag in tags.items():
            heapq.heappush(self._heap, (self._deadline(tag), tag.gen, epc))

    # -- internals ----------------------------------------------------------------------

    def _new_tag(self, epc: bytes, count: bool = True) -> _Tag:
        decoded = _decode(epc)
        if decoded is None:
            if count:
                self._counts["non_sgtin"] += 1
            tag = _Tag(epc.hex().upper(), "", "")
        else:
            tag = _Tag(epc.hex().upper(), decoded[0], decoded[1])
        self._gen += 1
        tag.gen = self._gen
        return tag

    def _deadline(self, tag: _Tag) -> int:
        timeout = self._exit_ns if tag.zone in self.config.exit_zones else self._departure_ns
        return max(tag.last + timeout, tag.grace_until)

    def _start_grace(self, ts: int) -> None:
        self._grace_pending = False
        until = ts + self._departure_ns
        for epc, tag in self._tags.items():
            tag.grace_until = max(tag.grace_until, until)
            heapq.heappush(self._heap, (self._deadline(tag), tag.gen, epc))

    def _clock(self, ts: int, out: Interpretation) -> bool:
        """Move time to ``ts``: departures and snapshots due by then. False: too late."""
        now = self._now
        if now is not None and ts < now - self._late_ns:
            self._counts["out_of_order"] += 1
            return False
        if self._grace_pending:
            self._start_grace(ts)
        if now is not None and ts <= now:
            return True
        self._now = ts
        if self._next_snapshot is None:
            self._next_snapshot = (ts // self._snap_ns + 1) * self._snap_ns
        elif ts >= self._next_snapshot:
            boundary = ts // self._snap_ns * self._snap_ns  # the latest boundary passed
            self._depart_until(boundary, out)
            self._zone_snapshots(boundary, out)
            self._next_snapshot = boundary + self._snap_ns
        self._depart_until(ts, out)
        return True

    def _tick(self, ts: int, out: Interpretation) -> None:
        if not isinstance(ts, int):
            self._counts["bad_times"] += 1
            return
        self._clock(ts, out)

    def _depart_until(self, ts: int, out: Interpretation) -> None:
        heap = self._heap
        tags = self._tags
        while heap and heap[0][0] <= ts:
            _, gen, epc = heapq.heappop(heap)
            tag = tags.get(epc)
            if tag is None or tag.gen != gen:
                continue
            deadline = self._deadline(tag)
            if deadline > ts:
                heapq.heappush(heap, (deadline, gen, epc))
                continue
            del tags[epc]
            if tag.zone is not None:
                self._emit(tag, "departed", tag.zone, deadline, out)
                out.state_changed = True

    def _seen(self, o: TagSeen, out: Interpretation) -> None:
        counts = self._counts
        epc = o.epc
        n = len(epc)
        if n == 0 or n % 2 or n > _MAX_EPC_BYTES:
            counts["bad_epc_length"] += 1
            return
        key = (o.reader, o.antenna)
        zone = self._zone_of.get(key)
        if zone is None:
            counts["unmapped_antenna"] += 1
            return
        first, last, count = o.first_seen, o.last_seen, o.count
        if first > last:
            counts["bad_times"] += 1
            return
        if count < 1:
            counts["bad_count"] += 1
            return
        rssi = o.rssi_dbm
        if rssi is not None and not -128.0 <= rssi <= 127.0:  # NaN fails both
            counts["bad_rssi"] += 1
            rssi = None
        if not self._clock(last, out):
            return
        tag = self._tags.get(epc)
        if tag is None:
            tag = self._tags[epc] = self._new_tag(epc)
            heapq.heappush(self._heap, (last + self._departure_ns, tag.gen, epc))
        ant = tag.antennas.get(key)
        if ant is None:
            ant = tag.antennas[key] = _Antenna(self.config.no_rssi_dbm if rssi is None else rssi, last, count)
        elif last <= ant.last:
            counts["duplicate"] += 1
            return
        else:
            if rssi is not None:
                ant.rssi += self.config.rssi_alpha * (rssi - ant.rssi)
            ant.last = last
            ant.reads += count
        if last > tag.last:
            tag.last = last
        tag.reads = min(_MAX_READS, tag.reads + count)
        if tag.zone is None:
            if tag.reads >= self.config.arrive_reads:
                best = self._best(tag, last)
                if best is not None:
                    tag.zone = best
                    tag.cand = None
                    self._emit(tag, "arrived", best, last, out)
                    out.state_changed = True
                    if best in self.config.exit_zones:
                        heapq.heappush(self._heap, (self._deadline(tag), tag.gen, epc))
            return
        self._consider_move(tag, epc, zone, count, first, last, out)

    def _scores(self, tag: _Tag, now: int) -> dict[str, float]:
        horizon = now - self._stale_ns
        scores: dict[str, float] = {}
        zone_of = self._zone_of
        decay = self._decay
        for key, ant in tag.antennas.items():
            last = ant.last
            if last >= horizon:
                z = zone_of[key]
                score = ant.rssi - decay * (now - last) if now > last else ant.rssi
                s = scores.get(z)
                if s is None or score > s:
                    scores[z] = score
        return scores

    def _best(self, tag: _Tag, now: int) -> str | None:
        scores = self._scores(tag, now)
        return max(scores, key=scores.__getitem__) if scores else None

    def _consider_move(
        self, tag: _Tag, epc: bytes, read_zone: str, count: int, first: int, ts: int, out: Interpretation
    ) -> None:
        scores = self._scores(tag, ts)
        best = max(scores, key=scores.__getitem__)
        here = scores.get(tag.zone)  # type: ignore[arg-type]
        if best == tag.zone or (here is not None and scores[best] < here + self.config.hysteresis_db):
            tag.cand = None
            return
        if tag.cand != best:
            tag.cand = best
            # the dwell counts from the first read of the report that made the zone win
            tag.cand_since = first if read_zone == best else ts
            tag.cand_reads = count if read_zone == best else 0
        elif read_zone == best:
            tag.cand_reads += count
        if tag.cand_reads >= self.config.move_reads and ts - tag.cand_since >= self._dwell_ns:
            before = tag.zone
            tag.zone = best
            tag.cand = None
            self._emit(tag, "moved", best, ts, out, from_zone=before or "")
            out.state_changed = True
            heapq.heappush(self._heap, (self._deadline(tag), tag.gen, epc))

    def _emit(
        self, tag: _Tag, transition: Any, zone: str, ts: int, out: Interpretation, from_zone: str = ""
    ) -> None:
        # the strongest fresh antenna of the zone (the latest when none is fresh any more)
        horizon = tag.last - self._stale_ns
        best_key: tuple[str, int] | None = None
        best: _Antenna | None = None
        rank: tuple[bool, float] = (False, -math.inf)
        for key, ant in tag.antennas.items():
            if self._zone_of[key] == zone:
                fresh = ant.last >= horizon
                r = (fresh, ant.rssi if fresh else float(ant.last))
                if best is None or r > rank:
                    best_key, best, rank = key, ant, r
        reader, antenna = best_key if best_key is not None else (self.config.device, 0)
        rssi = max(-128.0, min(127.0, round(best.rssi, 1))) if best is not None else self.config.no_rssi_dbm
        attrs = ItemPresence(
            epc=tag.epc_hex,
            transition=transition,
            zone=zone,
            reader=reader,
            antenna=antenna,
            rssi_dbm=rssi,
            reads=tag.reads,
            from_zone=from_zone,
            gtin=tag.gtin,
            serial=tag.serial,
        )
        out.events.append(Event(reader, "rfid.item", ts, attrs))

    def _zone_snapshots(self, ts: int, out: Interpretation) -> None:
        per: dict[str, Counter[str]] = {z: Counter() for z in self._zones}
        for tag in self._tags.values():
            if tag.zone is not None:
                per[tag.zone][tag.gtin] += 1
        for zone, counts in per.items():
            other = counts.pop("", 0)
            out.events.append(
                Event(
                    self.config.device,
                    "rfid.zone_snapshot",
                    ts,
                    ZoneSnapshot(zone=zone, counts=dict(sorted(counts.items())), other=other),
                )
            )
