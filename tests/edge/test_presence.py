"""The presence interpreter: tag reads → rfid.item arrivals, moves, departures, zone snapshots."""

from __future__ import annotations

import json
import math
import random

import msgspec
import pytest

from bohsense.contracts.epc import Sgtin96
from bohsense.contracts.events import Event, ItemPresence, ZoneSnapshot
from bohsense.edge.interpreters import (
    InterpreterStateError,
    PresenceConfig,
    PresenceInterpreter,
    StatefulInterpreter,
    TagSeen,
    Tick,
)

S = 1_000_000_000
T0 = 1_767_225_600 * S
GTIN_A = "80614141123458"
GTIN_B = "04006381333931"


def epc(serial: int, gtin: str = GTIN_A) -> bytes:
    return Sgtin96.from_gtin(gtin, 7, serial).to_bytes()


def config(**kw: object) -> PresenceConfig:
    base: dict[str, object] = {
        "antennas": {("r1", 1): "backroom", ("r1", 2): "floor", ("r2", 1): "dock"},
        "exit_zones": frozenset({"dock"}),
        "departure_s": 10.0,
        "exit_departure_s": 4.0,
        "snapshot_s": 60.0,
    }
    base.update(kw)
    return PresenceConfig(**base)  # type: ignore[arg-type]


def seen(tag: bytes, t_s: float, antenna: int = 1, rssi: float | None = -55.0, reader: str = "r1",
         count: int = 5, span_s: float = 0.9) -> TagSeen:  # fmt: skip
    last = T0 + round(t_s * S)
    return TagSeen(reader, antenna, tag, last - round(span_s * S), last, count, rssi)


def items(out: list[Event]) -> list[ItemPresence]:
    return [e.attrs for e in out if e.kind == "rfid.item"]  # type: ignore[misc]


def feed(p: PresenceInterpreter, observations: list[TagSeen | Tick]) -> list[Event]:
    events: list[Event] = []
    for o in observations:
        events += p.observe(o).events
    return events


def test_is_a_stateful_interpreter() -> None:
    assert isinstance(PresenceInterpreter(config()), StatefulInterpreter)


def test_arrival_carries_gtin_serial_and_valid_attrs() -> None:
    p = PresenceInterpreter(config())
    out = p.observe(seen(epc(6789), 1.0, rssi=-52.4))
    [a] = items(out.events)
    assert out.state_changed
    assert (a.transition, a.zone, a.reader, a.antenna) == ("arrived", "backroom", "r1", 1)
    assert (a.epc, a.gtin, a.serial, a.reads, a.rssi_dbm) == (
        epc(6789).hex().upper(),
        GTIN_A,
        "6789",
        5,
        -52.4,
    )
    assert out.events[0].device == "r1"
    assert out.events[0].ts == T0 + S
    # what the cloud will decode: the contract's bounds hold
    assert msgspec.json.decode(msgspec.json.encode(a), type=ItemPresence) == a


def test_arrival_needs_enough_reads() -> None:
    p = PresenceInterpreter(config(arrive_reads=3))
    assert items(p.observe(seen(epc(1), 1.0, count=1)).events) == []
    assert items(p.observe(seen(epc(1), 2.0, count=1)).events) == []
    [a] = items(p.observe(seen(epc(1), 3.0, count=1)).events)
    assert a.transition == "arrived"
    assert a.reads == 3


def test_repeated_reads_are_deduplicated() -> None:
    p = PresenceInterpreter(config())
    report = seen(epc(1), 1.0)
    assert len(items(p.observe(report).events)) == 1
    for _ in range(3):
        out = p.observe(report)
        assert out.events == []
        assert not out.state_changed
    assert p.counters()["duplicate"] == 3
    assert p.snapshot()["tags"][epc(1).hex().upper()]["reads"] == 5  # the repeats added nothing
    # an older report of the same antenna is a repeat too; a newer one is not
    p.observe(seen(epc(1), 0.5))
    p.observe(seen(epc(1), 2.0))
    assert p.counters()["duplicate"] == 4
    assert p.snapshot()["tags"][epc(1).hex().upper()]["reads"] == 10


def boundary_stream(seconds: int, seed: int) -> list[TagSeen | Tick]:
    """A tag halfway between the back room and floor antennas: equal mean RSSI, 2 dB noise."""
    rng = random.Random(seed)
    out: list[TagSeen | Tick] = []
    for t in range(1, seconds + 1):
        for antenna in (1, 2):
            out.append(seen(epc(7), t + antenna * 0.01, antenna=antenna, rssi=round(-62 + rng.gauss(0, 2))))
        out.append(Tick("r1", T0 + t * S + S // 2))
    return out


def test_a_tag_on_a_zone_boundary_does_not_flap() -> None:
    p = PresenceInterpreter(config(hysteresis_db=3.0, move_dwell_s=1.0, move_reads=3, rssi_alpha=0.6))
    events = items(feed(p, boundary_stream(600, seed=1)))
    assert [e.transition for e in events] == ["arrived"]


def test_without_hysteresis_the_same_boundary_flaps() -> None:
    # the test above would fail if hysteresis, dwell and smoothing did nothing
    p = PresenceInterpreter(config(hysteresis_db=0.0, move_dwell_s=0.0, move_reads=1, rssi_alpha=1.0))
    moved = [e for e in items(feed(p, boundary_stream(600, seed=1))) if e.transition == "moved"]
    assert len(moved) > 50


def test_move_after_dwell_and_margin() -> None:
    p = PresenceInterpreter(config(move_dwell_s=2.0, move_reads=3, hysteresis_db=3.0))
    tag = epc(3)
    feed(p, [seen(tag, t, antenna=1, rssi=-50) for t in range(1, 5)])
    # now the floor antenna reads it strongly; the back room weakly
    moved: list[tuple[float, ItemPresence]] = []
    for k in range(10):
        t = 5 + k * 0.5
        for o in (
            seen(tag, t, antenna=2, rssi=-50, span_s=0.4),
            seen(tag, t + 0.01, antenna=1, rssi=-70, span_s=0.4),
        ):
            moved += [(t, e) for e in items(p.observe(o).events)]
    [(t, m)] = moved
    assert (m.transition, m.zone, m.from_zone, m.antenna) == ("moved", "floor", "backroom", 2)
    # the floor's first report started at 4.6 s; the move needs 2 s of dwell from there
    assert 6.5 <= t <= 7.0
    assert p.present() == {tag.hex().upper(): "floor"}


def test_a_weaker_zone_within_the_margin_does_not_take_the_tag() -> None:
    p = PresenceInterpreter(config(hysteresis_db=3.0, move_dwell_s=0.0, move_reads=1))
    tag = epc(3)
    events = feed(p, [seen(tag, 1, antenna=1, rssi=-55)])
    for t in range(2, 30):
        events += feed(p, [seen(tag, t, antenna=1, rssi=-55), seen(tag, t + 0.1, antenna=2, rssi=-53)])
    assert [e.transition for e in items(events)] == ["arrived"]


def test_departure_timing_on_ticks() -> None:
    p = PresenceInterpreter(config(departure_s=10.0))
    tag = epc(4)
    p.observe(seen(tag, 1.0))
    last = T0 + S
    assert p.observe(Tick("r1", last + 10 * S - 1)).events == []
    out = p.observe(Tick("r1", last + 10 * S))
    [d] = items(out.events)
    assert (d.transition, d.zone) == ("departed", "backroom")
    assert out.state_changed
    assert out.events[0].ts == last + 10 * S
    assert p.present() == {}
    assert p.observe(Tick("r1", last + 20 * S)).events == []  # departs once


def test_departure_decided_by_a_later_read_of_another_tag() -> None:
    p = PresenceInterpreter(config(departure_s=10.0))
    p.observe(seen(epc(1), 1.0))
    out = p.observe(seen(epc(2), 30.0))
    kinds = [(e.attrs.epc, e.attrs.transition) for e in out.events]  # type: ignore[attr-defined]
    assert kinds == [(epc(1).hex().upper(), "departed"), (epc(2).hex().upper(), "arrived")]
    assert out.events[0].ts == T0 + 11 * S


def test_exit_zone_departs_sooner_and_a_seen_tag_stays() -> None:
    p = PresenceInterpreter(config(departure_s=10.0, exit_departure_s=4.0))
    door, shelf = epc(5), epc(6)
    feed(p, [seen(door, 1.0, reader="r2"), seen(shelf, 1.0)])
    events = []
    for t in range(2, 9):
        events += feed(p, [seen(shelf, t), Tick("r1", T0 + t * S)])
    [d] = items(events)
    assert (d.epc, d.transition, d.zone) == (door.hex().upper(), "departed", "dock")
    assert p.present() == {shelf.hex().upper(): "backroom"}


def test_departed_tag_seen_again_arrives_again() -> None:
    p = PresenceInterpreter(config(departure_s=10.0))
    p.observe(seen(epc(1), 1.0))
    p.observe(Tick("r1", T0 + 20 * S))
    [a] = items(p.observe(seen(epc(1), 21.0, antenna=2)).events)
    assert (a.transition, a.zone) == ("arrived", "floor")


def test_restart_makes_no_false_departures() -> None:
    p = PresenceInterpreter(config(departure_s=10.0))
    kept, gone = epc(1), epc(2)
    feed(p, [seen(kept, 1.0), seen(gone, 1.0, antenna=2), Tick("r1", T0 + 5 * S)])
    state = json.loads(json.dumps(p.snapshot()))
    # the gateway is down for an hour
    q = PresenceInterpreter(config(departure_s=10.0))
    q.restore(state)
    assert q.present() == p.present()
    back = T0 + 3600 * S
    assert items(q.observe(Tick("r1", back)).events) == []
    events = []
    for t in range(1, 10):
        events += feed(q, [seen(kept, 3600 + t), Tick("r1", back + t * S)])
    assert items(events) == []  # within the grace nothing departs, nothing arrives again
    out = q.observe(Tick("r1", back + 10 * S))
    assert [(e.epc, e.transition) for e in items(out.events)] == [(gone.hex().upper(), "departed")]
    assert q.present() == {kept.hex().upper(): "backroom"}


def test_restart_grace_starts_with_a_read_when_it_comes_first() -> None:
    p = PresenceInterpreter(config(departure_s=10.0))
    p.observe(seen(epc(1), 1.0))
    q = PresenceInterpreter(config(departure_s=10.0))
    q.restore(json.loads(json.dumps(p.snapshot())))
    assert [e.transition for e in items(q.observe(seen(epc(2), 3600.0)).events)] == ["arrived"]
    assert q.present().keys() == {epc(1).hex().upper(), epc(2).hex().upper()}


def test_restore_refuses_malformed_state() -> None:
    q = PresenceInterpreter(config())
    for bad in ({}, {"version": 2, "tags": {}}, {"version": 1, "now": 0, "next_snapshot": 0, "tags": {"ZZ": {}}},
                {"version": 1, "now": 0, "next_snapshot": 0, "tags": {"": {}}},
                {"version": 1, "now": 0, "next_snapshot": 0, "tags": {"3030": {"zone": "floor"}}}):  # fmt: skip
        with pytest.raises(InterpreterStateError):
            q.restore(bad)


def test_zone_snapshots_count_per_gtin() -> None:
    p = PresenceInterpreter(config(snapshot_s=60.0, departure_s=120.0))
    odd = bytes.fromhex("E2801160600002054C1A2B3C")  # a TID-like EPC, not SGTIN-96
    obs: list[TagSeen | Tick] = [seen(epc(n), 1.0) for n in (1, 2, 3)]
    obs += [seen(epc(9, GTIN_B), 1.0), seen(epc(10, GTIN_B), 1.0, antenna=2), seen(odd, 1.0)]
    feed(p, obs)
    assert p.counters()["non_sgtin"] == 1
    boundary = (T0 // (60 * S) + 1) * 60 * S
    assert [e for e in p.observe(Tick("r1", boundary - 1)).events if e.kind == "rfid.zone_snapshot"] == []
    out = p.observe(Tick("r1", boundary + 5 * S))
    snaps = {e.attrs.zone: e.attrs for e in out.events if e.kind == "rfid.zone_snapshot"}  # type: ignore[attr-defined]
    assert all(e.ts == boundary and e.device == "rfid" for e in out.events)
    assert snaps == {
        "backroom": ZoneSnapshot("backroom", {GTIN_A: 3, GTIN_B: 1}, other=1),
        "floor": ZoneSnapshot("floor", {GTIN_B: 1}),
        "dock": ZoneSnapshot("dock", {}),
    }
    for s in snaps.values():
        assert msgspec.json.decode(msgspec.json.encode(s), type=ZoneSnapshot) == s
    # the next one comes a period later, not before
    assert p.observe(Tick("r1", boundary + 59 * S)).events == []
    assert len(p.observe(Tick("r1", boundary + 60 * S)).events) == 3


def test_bad_input_is_counted_and_never_raises() -> None:
    p = PresenceInterpreter(config())
    good = epc(1)
    bad: list[object] = [
        seen(b"", 1.0),  # empty EPC
        seen(b"\x30\x00\x01", 1.0),  # an odd number of bytes
        seen(bytes(64), 1.0),  # beyond 496 bits
        seen(good, 1.0, antenna=7),  # an antenna no zone is mapped to
        seen(good, 1.0, reader="r9"),
        TagSeen("r1", 1, good, T0 + 2 * S, T0 + S, 1, -50.0),  # first after last
        TagSeen("r1", 1, good, T0, T0, 0, -50.0),  # no reads
        TagSeen("r1", 1, None, T0, T0, 1, -50.0),  # type: ignore[arg-type]
        Tick("r1", "soon"),  # type: ignore[arg-type]
    ]
    for o in bad:
        out = p.observe(o)  # type: ignore[arg-type]
        assert out.events == []
    assert p.present() == {}
    # a NaN RSSI: the read counts, its RSSI does not
    [a] = items(p.observe(seen(good, 1.0, rssi=math.nan)).events)
    assert a.rssi_dbm == -80.0  # no_rssi_dbm: no RSSI known yet
    p.observe(seen(good, 2.0, rssi=500.0))
    p.observe(seen(good, 3.0, rssi=None))  # not reported: not bad
    # time going backwards beyond the lateness allowed: dropped, counted
    p.observe(seen(good, 100.0))
    assert p.observe(seen(epc(2), 50.0)).events == []
    assert p.observe(Tick("r1", T0 + 10 * S)).events == []
    assert p.present() == {good.hex().upper(): "backroom"}
    assert p.counters() == {
        "bad_epc_length": 3,
        "unmapped_antenna": 2,
        "bad_times": 2,
        "bad_count": 1,
        "bad_observation": 1,
        "bad_rssi": 2,
        "out_of_order": 2,
    }


def test_reads_a_little_out_of_order_are_kept() -> None:
    p = PresenceInterpreter(config(max_lateness_s=5.0))
    p.observe(seen(epc(1), 10.0, reader="r2"))
    [a] = items(p.observe(seen(epc(2), 8.0)).events)  # another reader, 2 s behind
    assert a.transition == "arrived"
    assert "out_of_order" not in p.counters()


def test_config_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="no antenna"):
        PresenceConfig(antennas={})
    with pytest.raises(ValueError, match="exit zone"):
        config(exit_zones=frozenset({"roof"}))
    with pytest.raises(ValueError, match="rssi_alpha"):
        config(rssi_alpha=0.0)
    with pytest.raises(ValueError, match="departure_s"):
        config(departure_s=math.nan)
