"""The tag world: tagged items in zones, the antennas that cover them, and what is true.

Items carry real SGTIN-96 EPCs (``bohsense.contracts.epc``) and sit at a point inside a
zone (a disc on the floor plan). Scripted events move them between zones, send them
out through the door (a zone they cross for ``door_dwell_s`` before they are gone) and
bring new ones in with deliveries (through the door, then to their zone). An antenna at a
point reads a tag with a received signal strength from a log-distance path-loss model
with Gaussian noise, and misses it with a probability that grows as the signal nears the
reader's sensitivity (plus a floor of ``miss_rate``). Every random draw comes from
generators seeded by the scenario, so a run repeats.

Ground truth is the record of where every item was when: ``where(epc, t_s)``,
``truth_lines()`` / ``dump_truth(path)`` (JSON lines, one per placement). Time is seconds
since the world started (``elapsed``), from the host clock it is given.

A scenario file (TOML, ``Scenario.load``) describes the zones, the readers with their
antennas, the initial stock and the events; unknown keys are refused.
"""

from __future__ import annotations

import bisect
import heapq
import json
import math
import random
import threading
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bohsense.contracts.epc import EpcError, Sgtin96
from bohsense.simulators._runtime import Clock

__all__ = [
    "AntennaSpec",
    "Item",
    "RFModel",
    "ReaderSpec",
    "Scenario",
    "ScenarioError",
    "Sighting",
    "TagWorld",
    "Zone",
]


class ScenarioError(ValueError):
    """A scenario file or value the tag world cannot use; the message names the key."""


@dataclass(frozen=True, slots=True)
class Zone:
    name: str
    x: float
    y: float
    radius: float = 1.0


@dataclass(frozen=True, slots=True)
class AntennaSpec:
    antenna_id: int
    x: float
    y: float
    gain_dbi: float = 6.0


@dataclass(frozen=True, slots=True)
class ReaderSpec:
    reader_id: str
    antennas: tuple[AntennaSpec, ...]
    port: int | None = None


@dataclass(frozen=True, slots=True)
class RFModel:
    """Log-distance path loss: ``rssi = rssi_at_1m + (tx - 30) + gain - 6 - 10·n·log10(d) + N(0, noise)``."""

    path_loss_exponent: float = 2.5
    rssi_at_1m_dbm: float = -50.0  # at 30 dBm transmit power and a 6 dBi antenna
    noise_db: float = 2.0
    sensitivity_dbm: float = -70.0  # with the defaults: read up to about 6 m at full power
    miss_rate: float = 0.02  # misses even with a strong signal (orientation, collisions)

    def mean_rssi(self, distance_m: float, tx_dbm: float, gain_dbi: float) -> float:
        d = max(distance_m, 0.1)
        return (
            self.rssi_at_1m_dbm
            + (tx_dbm - 30.0)
            + (gain_dbi - 6.0)
            - 10 * self.path_loss_exponent * math.log10(d)
        )

    def read_probability(self, rssi_dbm: float) -> float:
        margin = (rssi_dbm - self.sensitivity_dbm) / 2.0
        return (1.0 - self.miss_rate) / (1.0 + math.exp(-margin))


@dataclass(slots=True)
class Item:
    epc: Sgtin96
    zone: str | None
    x: float = 0.0
    y: float = 0.0
    epc_bytes: bytes = b""

    def __post_init__(self) -> None:
        self.epc_bytes = self.epc.to_bytes()


@dataclass(frozen=True, slots=True)
class Sighting:
    """One tag read by one antenna in one inventory round."""

    epc: bytes
    antenna_id: int
    rssi_dbm: int


# ---------------------------------------------------------------- the scenario file


def _take(table: Mapping[str, Any], where: str, allowed: Iterable[str]) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise ScenarioError(f"{where} must be a table")
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return dict(table)


def _num(table: Mapping[str, Any], key: str, where: str, default: float | None = None) -> float:
    if key not in table:
        if default is None:
            raise ScenarioError(f"{where}: {key} is required")
        return default
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ScenarioError(f"{where}.{key} must be a number, got {v!r}")
    return float(v)


def _int(table: Mapping[str, Any], key: str, where: str, default: int | None = None, lo: int = 0) -> int:
    if key not in table:
        if default is None:
            raise ScenarioError(f"{where}: {key} is required")
        return default
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ScenarioError(f"{where}.{key} must be an integer >= {lo}, got {v!r}")
    return v


def _str(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    if key not in table:
        if default is None:
            raise ScenarioError(f"{where}: {key} is required")
        return default
    v = table[key]
    if not isinstance(v, str) or not v:
        raise ScenarioError(f"{where}.{key} must be a non-empty string, got {v!r}")
    return v


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    v = doc.get(key, [])
    if not isinstance(v, list):
        raise ScenarioError(f"{key} must be an array of tables")
    return v


@dataclass(frozen=True, slots=True)
class Scenario:
    """A parsed scenario: everything ``TagWorld`` and the readers need."""

    seed: int
    zones: tuple[Zone, ...]
    readers: tuple[ReaderSpec, ...]
    rf: RFModel = field(default_factory=RFModel)
    door_zone: str | None = None
    door_dwell_s: float = 2.0
    stock: tuple[dict[str, Any], ...] = ()
    events: tuple[dict[str, Any], ...] = ()  # each with "kind": move | departure | delivery

    @classmethod
    def load(cls, path: str | Path, *, seed: int | None = None) -> Scenario:
        try:
            doc = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ScenarioError(f"{path}: {exc}") from exc
        return cls.from_dict(doc, seed=seed)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, seed: int | None = None) -> Scenario:
        top = _take(
            doc,
            "scenario",
            ("seed", "door_zone", "door_dwell_s", "rf", "zones", "readers", "stock", "moves", "departures",
             "deliveries"),
        )  # fmt: skip
        rf_t = _take(top.get("rf", {}), "rf", RFModel.__dataclass_fields__)
        rf = RFModel(**{k: _num(rf_t, k, "rf") for k in rf_t})
        if not 0 <= rf.miss_rate < 1:
            raise ScenarioError(f"rf.miss_rate must be in [0, 1), got {rf.miss_rate}")
        zones = []
        for i, z in enumerate(_list(top, "zones")):
            where = f"zones[{i}]"
            z = _take(z, where, ("name", "x", "y", "radius"))
            zones.append(Zone(_str(z, "name", where), _num(z, "x", where), _num(z, "y", where),
                              _num(z, "radius", where, 1.0)))  # fmt: skip
        names = {z.name for z in zones}
        if len(names) != len(zones):
            raise ScenarioError("zones: two zones have the same name")
        readers = []
        for i, r in enumerate(_list(top, "readers")):
            where = f"readers[{i}]"
            r = _take(r, where, ("id", "port", "antennas"))
            ants = []
            raw_ants = r.get("antennas", [])
            if not isinstance(raw_ants, list) or not raw_ants:
                raise ScenarioError(f"{where}.antennas must list at least one antenna")
            for j, a in enumerate(raw_ants):
                aw = f"{where}.antennas[{j}]"
                a = _take(a, aw, ("id", "x", "y", "gain_dbi"))
                ants.append(AntennaSpec(_int(a, "id", aw, lo=1), _num(a, "x", aw), _num(a, "y", aw),
                                        _num(a, "gain_dbi", aw, 6.0)))  # fmt: skip
            if sorted(a.antenna_id for a in ants) != list(range(1, len(ants) + 1)):
                raise ScenarioError(f"{where}.antennas: ids must be 1..{len(ants)}")
            port = _int(r, "port", where, lo=1) if "port" in r else None
            readers.append(ReaderSpec(_str(r, "id", where), tuple(ants), port))
        if not readers:
            raise ScenarioError("readers: a scenario needs at least one reader")

        def zone_ref(value: Any, where: str) -> str:
            if value not in names:
                raise ScenarioError(f"{where}: no zone named {value!r}")
            return str(value)

        door = top.get("door_zone")
        if door is not None:
            door = zone_ref(door, "door_zone")
        product_keys = ("gtin", "company_prefix_digits", "count", "first_serial", "filter")

        def product(t: Mapping[str, Any], where: str) -> dict[str, Any]:
            out: dict[str, Any] = {
                "gtin": _str(t, "gtin", where),
                "company_prefix_digits": _int(t, "company_prefix_digits", where, lo=6),
                "count": _int(t, "count", where, lo=1),
                "first_serial": _int(t, "first_serial", where, 1),
                "filter": _int(t, "filter", where, 1),
            }
            try:  # fail at load, not mid-run
                Sgtin96.from_gtin(out["gtin"], out["company_prefix_digits"], out["first_serial"] + out["count"] - 1,
                                  filter=out["filter"])  # fmt: skip
            except EpcError as exc:
                raise ScenarioError(f"{where}: {exc}") from exc
            return out

        stock = []
        for i, s in enumerate(_list(top, "stock")):
            where = f"stock[{i}]"
            s = _take(s, where, (*product_keys, "zone"))
            stock.append({**product(s, where), "zone": zone_ref(s.get("zone"), f"{where}.zone")})
        events: list[dict[str, Any]] = []
        for i, m in enumerate(_list(top, "moves")):
            where = f"moves[{i}]"
            m = _take(m, where, ("at", "from", "to", "count", "gtin"))
            events.append({"kind": "move", "at": _num(m, "at", where), "from": zone_ref(m.get("from"), where),
                           "to": zone_ref(m.get("to"), where), "count": _int(m, "count", where, lo=1),
                           "gtin": m.get("gtin")})  # fmt: skip
        for i, d in enumerate(_list(top, "departures")):
            where = f"departures[{i}]"
            d = _take(d, where, ("at", "from", "count", "gtin"))
            events.append({"kind": "departure", "at": _num(d, "at", where), "from": zone_ref(d.get("from"), where),
                           "count": _int(d, "count", where, lo=1), "gtin": d.get("gtin")})  # fmt: skip
        for i, d in enumerate(_list(top, "deliveries")):
            where = f"deliveries[{i}]"
            d = _take(d, where, (*product_keys, "at", "to"))
            events.append({"kind": "delivery", "at": _num(d, "at", where), **product(d, where),
                           "to": zone_ref(d.get("to"), where)})  # fmt: skip
        if any(e["kind"] in ("departure", "delivery") for e in events) and door is None:
            raise ScenarioError("departures and deliveries go through the door: set door_zone")
        chosen_seed = seed if seed is not None else _int(top, "seed", "scenario", 0)
        return cls(
            seed=chosen_seed,
            zones=tuple(zones),
            readers=tuple(readers),
            rf=rf,
            door_zone=door,
            door_dwell_s=_num(top, "door_dwell_s", "scenario", 2.0),
            stock=tuple(stock),
            events=tuple(sorted(events, key=lambda e: e["at"])),
        )


# ---------------------------------------------------------------- the world


class TagWorld:
    """Items, zones, antennas and the truth of where every item was when."""

    def __init__(self, scenario: Scenario, *, clock: Clock | None = None) -> None:
        self.scenario = scenario
        self.host = clock or Clock()
        self.rf = scenario.rf
        self.zones = {z.name: z for z in scenario.zones}
        self.readers = {r.reader_id: r for r in scenario.readers}
        self._rng = random.Random(f"world-{scenario.seed}")
        self._lock = threading.RLock()
        self._start = self.host.monotonic()
        self._now = 0.0
        self.items: dict[bytes, Item] = {}
        self._truth: list[dict[str, Any]] = []
        self._history: dict[bytes, tuple[list[float], list[str | None]]] = {}
        self._pending: list[tuple[float, int, dict[str, Any]]] = []
        self._seq = 0
        for s in scenario.stock:
            for item in self._make_items(s):
                self._place(item, s["zone"], "stocked", 0.0)
        for e in scenario.events:
            self._push(e["at"], e)

    # -- time and events ----------------------------------------------------------------

    def elapsed(self, mono: float | None = None) -> float:
        return (self.host.monotonic() if mono is None else mono) - self._start

    def advance(self, mono: float | None = None) -> None:
        """Apply every scripted event due by now."""
        t = self.elapsed(mono)
        with self._lock:
            self._now = max(self._now, t)
            while self._pending and self._pending[0][0] <= t:
                at, _, event = heapq.heappop(self._pending)
                self._apply(at, event)

    def next_event(self) -> float | None:
        """Host monotonic time of the next scripted change, if any."""
        with self._lock:
            return self._start + self._pending[0][0] if self._pending else None

    def _push(self, at: float, event: dict[str, Any]) -> None:
        self._seq += 1
        heapq.heappush(self._pending, (at, self._seq, event))

    def schedule(self, event: dict[str, Any]) -> None:
        """Add an event (the same tables as the scenario file's, with ``kind``) at runtime."""
        with self._lock:
            self._push(float(event["at"]), event)

    def _make_items(self, product: Mapping[str, Any]) -> list[Item]:
        out = []
        for n in range(product["count"]):
            epc = Sgtin96.from_gtin(
                product["gtin"], product["company_prefix_digits"], product["first_serial"] + n,
                filter=product.get("filter", 1),
            )  # fmt: skip
            if epc.to_bytes() in self.items:
                raise ScenarioError(f"EPC {epc.pure_uri()} is already in the world")
            out.append(Item(epc, None))
        return out

    def _pick(self, zone: str, count: int, gtin: str | None) -> list[Item]:
        here = [i for i in self.items.values() if i.zone == zone and (gtin is None or i.epc.gtin14() == gtin)]
        here.sort(key=lambda i: i.epc_bytes)
        return self._rng.sample(here, min(count, len(here)))

    def _apply(self, at: float, e: dict[str, Any]) -> None:
        kind = e["kind"]
        door = self.scenario.door_zone
        dwell = self.scenario.door_dwell_s
        if kind == "move":
            for item in self._pick(e["from"], e["count"], e.get("gtin")):
                self._place(item, e["to"], "moved", at)
        elif kind == "departure":
            assert door is not None
            for item in self._pick(e["from"], e["count"], e.get("gtin")):
                self._place(item, door, "leaving", at)
                self._push(at + dwell, {"kind": "_gone", "epc": item.epc_bytes})
        elif kind == "delivery":
            assert door is not None
            for item in self._make_items(e):
                self._place(item, door, "delivered", at)
                self._push(at + dwell, {"kind": "_shelve", "epc": item.epc_bytes, "to": e["to"]})
        elif kind == "_gone":
            item = self.items[e["epc"]]
            if item.zone == door:
                self._place(item, None, "left", at)
        elif kind == "_shelve":
            item = self.items[e["epc"]]
            if item.zone == door:
                self._place(item, e["to"], "received", at)
        else:
            raise ScenarioError(f"unknown event kind {kind!r}")

    def _place(self, item: Item, zone: str | None, why: str, at: float) -> None:
        previous = item.zone
        item.zone = zone
        if zone is not None:
            z = self.zones[zone]
            r = z.radius * math.sqrt(self._rng.random())
            a = self._rng.uniform(0, 2 * math.pi)
            item.x, item.y = z.x + r * math.cos(a), z.y + r * math.sin(a)
        self.items[item.epc_bytes] = item
        times, zones = self._history.setdefault(item.epc_bytes, ([], []))
        times.append(at)
        zones.append(zone)
        self._truth.append(
            {"t_s": round(at, 6), "epc": item.epc.hex(), "uri": item.epc.pure_uri(), "event": why,
             "from": previous, "zone": zone, "x": round(item.x, 3), "y": round(item.y, 3)}
        )  # fmt: skip

    # -- ground truth -------------------------------------------------------------------

    def where(self, epc: bytes | str | Sgtin96, t_s: float) -> str | None:
        """The zone the item was in at ``t_s`` (None: not in the building)."""
        key = (
            epc.to_bytes()
            if isinstance(epc, Sgtin96)
            else bytes.fromhex(epc)
            if isinstance(epc, str)
            else epc
        )
        with self._lock:
            times, zones = self._history.get(key, ([], []))
            i = bisect.bisect_right(times, t_s) - 1
            return zones[i] if i >= 0 else None

    def in_zone(self, zone: str | None) -> set[bytes]:
        with self._lock:
            return {k for k, i in self.items.items() if i.zone == zone}

    def truth_lines(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._truth)

    def dump_truth(self, path: str | Path) -> None:
        Path(path).write_text("".join(json.dumps(line, sort_keys=True) + "\n" for line in self.truth_lines()))

    # -- radio --------------------------------------------------------------------------

    def visible(self, reader_id: str, antenna_id: int, tx_dbm: float = 30.0) -> set[bytes]:
        """The EPCs whose mean signal at this antenna is above the sensitivity (what a
        reader can read there, misses aside)."""
        ant = self._antenna(reader_id, antenna_id)
        with self._lock:
            return {
                k
                for k, i in self.items.items()
                if i.zone is not None
                and self.rf.mean_rssi(math.dist((ant.x, ant.y), (i.x, i.y)), tx_dbm, ant.gain_dbi)
                >= self.rf.sensitivity_dbm
            }

    def _antenna(self, reader_id: str, antenna_id: int) -> AntennaSpec:
        for a in self.readers[reader_id].antennas:
            if a.antenna_id == antenna_id:
                return a
        raise KeyError(f"reader {reader_id} has no antenna {antenna_id}")

    def inventory_round(
        self, reader_id: str, antenna_id: int, tx_dbm: float, rng: random.Random
    ) -> list[Sighting]:
        """One inventory round on one antenna: the tags that answered, with their RSSI."""
        ant = self._antenna(reader_id, antenna_id)
        out = []
        with self._lock:
            for key in sorted(self.items):
                item = self.items[key]
                if item.zone is None:
                    continue
                mean = self.rf.mean_rssi(math.dist((ant.x, ant.y), (item.x, item.y)), tx_dbm, ant.gain_dbi)
                if mean < self.rf.sensitivity_dbm - 3 * max(self.rf.noise_db, 1.0):
                    continue
                rssi = mean + rng.gauss(0.0, self.rf.noise_db)
                if rng.random() < self.rf.read_probability(rssi):
                    out.append(Sighting(key, antenna_id, max(-128, min(127, round(rssi)))))
        return out
