"""``bohsense bench presence``: how well the presence interpreter tracks a simulated store.

The simulators' tag world (``bohsense.simulators._tags``) holds the items, their zones and
the truth of where each was when; its ``inventory_round`` is what a reader's antenna
reads in one round (log-distance RSSI with noise, misses that grow near the
sensitivity). Here every reader runs a round on each of its antennas every ``round_s``
and reports, every ``report_s`` (each reader at its own phase), one ``TagSeen`` per tag
and antenna with its first and last read, read count and peak RSSI — what an LLRP
reader aggregating by EPC and antenna reports — then a ``Tick``. The stream goes
through a ``PresenceInterpreter`` on a simulated clock, no sockets involved.

Scored against the truth:

- **zone accuracy**: every ``sample_s``, each item present in the world counts right when
  the interpreter has it present in the same zone (an item not yet arrived, or still in
  its old zone after a move, counts wrong). The interpreter starts knowing nothing, so
  the first ``warmup_s`` (2 s: the first reports of the stock) are not scored;
- **departures detected**: an item that left the building (its truth zone became none)
  is detected when the interpreter emits its ``departed`` no later than
  ``departure_s + report_s`` after it left (the departure timeout plus one report);
- **false departures**: ``departed`` events emitted while the item was still in the
  building, over all ``departed`` events;
- **throughput**: the recorded ``TagSeen``/``Tick`` stream replayed through a fresh
  interpreter, ``TagSeen`` per second on one core.

The standard scenario (``standard_scenario``) is a store: a back room, a sales floor
covered by two antennas and a dock door, close enough that each zone's antennas also
read the next zone's tags more weakly; stock of 6 products, random moves between back
room and floor, sales out through the door, deliveries in through it, 5 % read misses
on top of the signal-dependent ones. Its events are drawn from the seed, so seeds
differ in what happens as well as in the radio noise.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bohsense.edge.interpreters import (
    PresenceConfig,
    PresenceInterpreter,
    TagSeen,
    Tick,
)
from bohsense.simulators._runtime import Clock
from bohsense.simulators._tags import Scenario, TagWorld

__all__ = [
    "STANDARD_ZONES",
    "PresenceRun",
    "evaluate",
    "run_presence",
    "standard_config",
    "standard_scenario",
]

_T0_NS = 1_767_225_600 * 1_000_000_000  # 2026-01-01T00:00:00Z: the simulated UTC epoch
_S = 1_000_000_000

#: zone → (x, y, radius) in metres; the readers' antennas sit at the centres (two on the floor)
STANDARD_ZONES: dict[str, tuple[float, float, float]] = {
    "backroom": (0.0, 0.0, 2.5),
    "floor": (9.0, 0.0, 3.5),
    "dock": (0.0, 8.0, 1.5),
}
_PRODUCTS = (
    ("80614141123458", 7),
    ("04006381333931", 7),
    ("09506000134352", 7),
    ("00012345678905", 7),
    ("05012345678900", 7),
    ("04012345000009", 7),
)


def standard_scenario(seed: int, duration_s: float = 600.0, scale: float = 1.0) -> dict[str, Any]:
    """The standard store scenario as a scenario table (``Scenario.from_dict``).

    ``scale`` multiplies the stock and the rate of events (0.3: a short test scenario).
    """
    rng = random.Random(f"presence-standard-{seed}")
    zones = [{"name": n, "x": x, "y": y, "radius": r} for n, (x, y, r) in STANDARD_ZONES.items()]
    readers = [
        {"id": "backroom-reader", "antennas": [{"id": 1, "x": 0.0, "y": 0.0}]},
        {"id": "floor-reader", "antennas": [{"id": 1, "x": 7.0, "y": 0.0}, {"id": 2, "x": 11.0, "y": 0.0}]},
        {"id": "dock-reader", "antennas": [{"id": 1, "x": 0.0, "y": 8.0}]},
    ]
    stock = []
    serial = {gtin: 1 for gtin, _ in _PRODUCTS}
    for gtin, cp in _PRODUCTS:
        for zone, count in (("backroom", 12), ("floor", 20)):
            n = max(1, round(count * scale))
            stock.append({"gtin": gtin, "company_prefix_digits": cp, "zone": zone, "count": n,
                          "first_serial": serial[gtin]})  # fmt: skip
            serial[gtin] += n
    moves, departures, deliveries = [], [], []
    t = 5.0
    while t < duration_s:
        t += rng.expovariate(scale / 12.0)  # a move every 12 s
        if t < duration_s:
            a, b = ("backroom", "floor") if rng.random() < 0.6 else ("floor", "backroom")
            moves.append({"at": round(t, 3), "from": a, "to": b, "count": rng.randint(1, 4)})
    t = 5.0
    while t < duration_s:
        t += rng.expovariate(scale / 10.0)  # a sale every 10 s
        if t < duration_s:
            departures.append({"at": round(t, 3), "from": "floor", "count": rng.randint(1, 3)})
    t = 0.0
    while t < duration_s:
        t += rng.expovariate(scale / 150.0)  # a delivery every 150 s
        if t < duration_s:
            gtin, cp = rng.choice(_PRODUCTS)
            n = rng.randint(5, 15)
            deliveries.append({"at": round(t, 3), "gtin": gtin, "company_prefix_digits": cp, "count": n,
                               "first_serial": serial[gtin], "to": "backroom"})  # fmt: skip
            serial[gtin] += n
    return {
        "seed": seed,
        "door_zone": "dock",
        "door_dwell_s": 4.0,
        "rf": {
            "path_loss_exponent": 2.5,
            "rssi_at_1m_dbm": -50.0,
            "noise_db": 2.0,
            "sensitivity_dbm": -72.0,
            "miss_rate": 0.05,
        },
        "zones": zones,
        "readers": readers,
        "stock": stock,
        "moves": moves,
        "departures": departures,
        "deliveries": deliveries,
    }


def standard_config(scenario: Scenario, **overrides: Any) -> PresenceConfig:
    """The interpreter's configuration for a scenario: each antenna covers the zone
    nearest to it; the door zone is the exit zone. ``overrides``: PresenceConfig fields."""
    antennas: dict[tuple[str, int], str] = {}
    for reader in scenario.readers:
        for a in reader.antennas:
            nearest = min(scenario.zones, key=lambda z: math.dist((z.x, z.y), (a.x, a.y)))
            antennas[(reader.reader_id, a.antenna_id)] = nearest.name
    base: dict[str, Any] = {
        "antennas": antennas,
        "zones": tuple(z.name for z in scenario.zones),
        "exit_zones": frozenset({scenario.door_zone}) if scenario.door_zone else frozenset(),
    }
    base.update(TUNED)
    base.update(overrides)
    return PresenceConfig(**base)


#: the parameters chosen on seeds 0-9 of the standard scenario (docs/rfid.md)
TUNED: dict[str, Any] = {
    "departure_s": 10.0,
    "exit_departure_s": 5.0,
    "rssi_alpha": 0.6,
    "antenna_stale_s": 3.0,
    "miss_decay_db_s": 4.0,
    "hysteresis_db": 3.0,
    "move_dwell_s": 1.0,
    "move_reads": 3,
    "arrive_reads": 2,
    "snapshot_s": 60.0,
}


class _SimClock(Clock):
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def wall_ns(self) -> int:
        return _T0_NS + int(self.now * _S)


@dataclass(slots=True)
class PresenceRun:
    seed: int
    samples: int = 0
    samples_right: int = 0
    ghosts: int = 0  # samples of items the interpreter holds present that had left
    departures: int = 0
    departures_in_time: int = 0
    departures_late: int = 0
    departed_events: int = 0
    false_departures: int = 0
    arrivals: int = 0
    moves: int = 0
    tag_seen: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    stream: list[TagSeen | Tick] = field(default_factory=list, repr=False)

    def figures(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "zone_accuracy": _ratio(self.samples_right, self.samples),
            "samples": self.samples,
            "ghost_samples": self.ghosts,
            "departures": self.departures,
            "departures_detected": _ratio(self.departures_in_time, self.departures),
            "departures_late": self.departures_late,
            "departed_events": self.departed_events,
            "false_departures": self.false_departures,
            "false_departure_rate": _ratio(self.false_departures, self.departed_events, empty=0.0),
            "arrived_events": self.arrivals,
            "moved_events": self.moves,
            "tag_seen": self.tag_seen,
            "counters": self.counters,
        }


def _ratio(a: int, b: int, empty: float = 1.0) -> float:
    return round(a / b, 5) if b else empty


def evaluate(
    scenario: Scenario,
    config: PresenceConfig,
    *,
    duration_s: float,
    tail_s: float = 30.0,
    round_s: float = 0.1,
    report_s: float = 1.0,
    sample_s: float = 1.0,
    warmup_s: float = 2.0,
    keep_stream: bool = False,
) -> PresenceRun:
    """Run ``scenario`` for ``duration_s`` (+ ``tail_s`` with nothing scheduled, so the
    last departures can be decided) through a fresh interpreter and score it."""
    clock = _SimClock()
    world = TagWorld(scenario, clock=clock)
    interp = PresenceInterpreter(config)
    run = PresenceRun(scenario.seed)
    readers = list(scenario.readers)
    rngs = {r.reader_id: random.Random(f"reader-{r.reader_id}-{scenario.seed}") for r in readers}
    # each reader reports at its own phase within the report period
    phase = {r.reader_id: (i + 1) * report_s / (len(readers) + 1) for i, r in enumerate(readers)}
    pending: dict[str, dict[tuple[bytes, int], list[int]]] = {r.reader_id: {} for r in readers}
    next_report = dict(phase)
    end = duration_s + tail_s
    steps = round(end / round_s)
    sample_every = max(1, round(sample_s / round_s))
    left_at: dict[str, float] = {}  # epc hex → when it left the building (truth)
    handled_truth = 0
    timeout = config.departure_s + report_s

    def feed(obs: TagSeen | Tick, t: float) -> None:
        if keep_stream:
            run.stream.append(obs)
        out = interp.observe(obs)
        for event in out.events:
            if event.kind != "rfid.item":
                continue
            attrs: Any = event.attrs
            if attrs.transition == "arrived":
                run.arrivals += 1
            elif attrs.transition == "moved":
                run.moves += 1
            else:
                run.departed_events += 1
                truth = world.where(attrs.epc, t)
                if truth is not None:
                    run.false_departures += 1
                elif attrs.epc in left_at:
                    gone = left_at.pop(attrs.epc)
                    if t - gone <= timeout:
                        run.departures_in_time += 1
                    else:
                        run.departures_late += 1

    for step in range(1, steps + 1):
        t = step * round_s
        clock.now = t
        world.advance(t)
        for line in world.truth_lines()[handled_truth:]:
            if line["zone"] is None:
                run.departures += 1
                left_at[line["epc"]] = line["t_s"]
        handled_truth = len(world._truth)
        utc = _T0_NS + round(t * _S)
        for r in readers:
            acc = pending[r.reader_id]
            for a in r.antennas:
                for s in world.inventory_round(r.reader_id, a.antenna_id, 30.0, rngs[r.reader_id]):
                    entry = acc.get((s.epc, a.antenna_id))
                    if entry is None:
                        acc[(s.epc, a.antenna_id)] = [utc, utc, 1, s.rssi_dbm]
                    else:
                        entry[1] = utc
                        entry[2] += 1
                        entry[3] = max(entry[3], s.rssi_dbm)
            if t + 1e-9 >= next_report[r.reader_id]:
                next_report[r.reader_id] += report_s
                for (epc, antenna), (first, last, count, peak) in acc.items():
                    run.tag_seen += 1
                    feed(TagSeen(r.reader_id, antenna, epc, first, last, count, float(peak)), t)
                acc.clear()
                feed(Tick(r.reader_id, utc), t)
        if step % sample_every == 0 and warmup_s <= t <= duration_s:
            present = interp.present()
            truth_here = 0
            for _key, item in world.items.items():
                if item.zone is None:
                    continue
                truth_here += 1
                if present.get(item.epc.hex()) == item.zone:
                    run.samples_right += 1
            run.samples += truth_here
            run.ghosts += sum(1 for e in present if world.where(e, t) is None)
    run.counters = dict(interp.counters())
    return run


def throughput(stream: list[TagSeen | Tick], config: PresenceConfig, repeat: int = 3) -> float:
    """TagSeen per second through a fresh interpreter replaying ``stream`` (best of ``repeat``)."""
    n = sum(1 for o in stream if isinstance(o, TagSeen))
    best = math.inf
    for _ in range(repeat):
        interp = PresenceInterpreter(config)
        observe = interp.observe
        t0 = time.perf_counter()
        for o in stream:
            observe(o)
        best = min(best, time.perf_counter() - t0)
    return round(n / best) if best > 0 else 0.0


def run_presence(
    scenario_file: str | None,
    seeds: list[int],
    *,
    duration_s: float = 600.0,
    scale: float = 1.0,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate every seed; the figures per seed, their aggregate and the throughput."""
    per_seed = []
    totals = PresenceRun(-1)
    stream: list[TagSeen | Tick] = []
    config = None
    for i, seed in enumerate(seeds):
        if scenario_file:
            scenario = Scenario.load(Path(scenario_file), seed=seed)
        else:
            scenario = Scenario.from_dict(standard_scenario(seed, duration_s, scale))
        config = standard_config(scenario, **dict(overrides or {}))
        run = evaluate(scenario, config, duration_s=duration_s, keep_stream=i == 0)
        if i == 0:
            stream = run.stream
        per_seed.append(run.figures())
        for name in ("samples", "samples_right", "ghosts", "departures", "departures_in_time",
                     "departures_late", "departed_events", "false_departures", "arrivals", "moves",
                     "tag_seen"):  # fmt: skip
            setattr(totals, name, getattr(totals, name) + getattr(run, name))
    overall = totals.figures()
    del overall["seed"], overall["counters"]
    assert config is not None
    return {
        "scenario": scenario_file or "standard",
        "seeds": seeds,
        "duration_s": duration_s,
        "config": {k: getattr(config, k) for k in (*TUNED, "max_lateness_s")},
        "overall": overall,
        "per_seed": per_seed,
        "tag_seen_per_s": throughput(stream, config) if stream else 0.0,
    }
