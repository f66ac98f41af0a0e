"""Shelf scenarios: a TOML file and a seed → a scripted day at one shelf, with ground truth.

A scenario names the shelf (lanes, SKUs, unit-weight spread, noise, drift, temperature),
the shoppers (how often they come, how many at once, what they do) and the faults, and
``ShelfScenario.plan()`` turns it and the seed into a list of ``Action`` at seconds after
start, deterministically: the same file and seed give the same actions, sample for
sample. ``build()`` makes the ``ShelfDevice`` with every action scheduled; the device's
ground truth (``ground_truth()["events"]``) then records what really happened and when
(every pick, put-back, restock, foreign item, basket, drop, fault, reboot, unplug), and
``ShelfScenario.truth()`` adds the plan. The format (every key optional unless marked)::

    [scenario]
    name = "standard"        # required
    seed = 1                 # the default seed; a run may override it (held-out seeds)
    duration_s = 1800.0
    rate_hz = 10.0
    noise_g = 2.0            # load-cell noise, grams (1 σ)
    drift_g_per_h = 3.0      # creep
    unit_spread = 0.02       # units weigh unit_weight_g × (1 ± up to this)

    [temperature]            # the shelf's air: base + swing × sin(2πt / period)
    base_c = 20.0
    swing_c = 0.0
    period_s = 3600.0
    zero_tempco_g_per_c = 0.0
    span_tempco_per_c = 0.0

    [[lanes]]                # 1..32, in order
    sku = "cola-355"         # required
    unit_weight_g = 355.0    # required
    units = 12
    tare_g = 150.0
    capacity = 24            # a restock fills up to this

    [shoppers]
    mean_interval_s = 15.0   # Poisson arrivals at the shelf
    max_units = 2            # a shopper takes 1..max_units
    group_probability = 0.0  # another shopper arrives at once (several at the shelf)
    putback_probability = 0.0
    wrong_lane_probability = 0.0   # of put-backs: on another lane (a foreign item)
    basket_probability = 0.0       # an arrival sets a basket on a lane for 5-30 s
    drop_probability = 0.0         # an arrival drops a heavy item on a lane
    hand_probability = 0.0         # an arrival rests a hand on a lane for 1-4 s
    lane_gap_s = 4.0               # at least this between two actions on one lane

    [restock]
    below_units = 3          # staff restock a lane that falls below this, by the case
    case_units = 12
    delay_s = 60.0

    [tidy]
    after_s = 90.0           # staff take foreign items off a lane this long after

    [[faults]]
    kind = "dead"            # dead, stuck, rail (a lane's cell), reboot, unplug, sku_change
    at_s = 600.0
    lane = 2                 # cell faults and sku_change
    duration_s = 30.0        # cell faults and unplug; reboot: how long it is silent
    unit_weight_g = 500.0    # sku_change: the new SKU's unit weight
    units = 8                # sku_change: how many of it

Unknown keys are refused (``ScenarioError`` naming the key).
"""

from __future__ import annotations

import heapq
import random
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from bohsense.simulators._runtime import Clock
from bohsense.simulators._shelf import CELL_FAULTS, Lane, ShelfDevice

__all__ = ["Action", "LaneSpec", "ShelfScenario", "ShelfScenarioError", "packaged_scenario"]

FAULT_KINDS = (*CELL_FAULTS, "reboot", "unplug", "sku_change")


class ShelfScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the key."""


@dataclass(frozen=True, slots=True)
class LaneSpec:
    sku: str
    unit_weight_g: float
    units: int = 12
    tare_g: float = 150.0
    capacity: int = 24


@dataclass(frozen=True, slots=True)
class Action:
    """One scripted thing at the shelf, ``at_s`` seconds after start."""

    at_s: float
    kind: str  # pick, putback, misplace, restock, tidy, basket, hand, drop, <fault kinds>
    lane: int = 0
    units: int = 0
    grams: float = 0.0
    duration_s: float = 0.0
    from_lane: int = 0
    unit_weight_g: float = 0.0


_SECTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "scenario": {
        "name": str, "seed": int, "duration_s": (int, float), "rate_hz": (int, float),
        "noise_g": (int, float), "drift_g_per_h": (int, float), "unit_spread": (int, float),
    },
    "temperature": {
        "base_c": (int, float), "swing_c": (int, float), "period_s": (int, float),
        "zero_tempco_g_per_c": (int, float), "span_tempco_per_c": (int, float),
    },
    "shoppers": {
        "mean_interval_s": (int, float), "max_units": int, "group_probability": (int, float),
        "putback_probability": (int, float), "wrong_lane_probability": (int, float),
        "basket_probability": (int, float), "drop_probability": (int, float),
        "hand_probability": (int, float), "lane_gap_s": (int, float),
    },
    "restock": {"below_units": int, "case_units": int, "delay_s": (int, float)},
    "tidy": {"after_s": (int, float)},
}  # fmt: skip
_LANE_KEYS: dict[str, type | tuple[type, ...]] = {
    "sku": str, "unit_weight_g": (int, float), "units": int, "tare_g": (int, float), "capacity": int,
}  # fmt: skip
_FAULT_KEYS: dict[str, type | tuple[type, ...]] = {
    "kind": str, "at_s": (int, float), "lane": int, "duration_s": (int, float),
    "unit_weight_g": (int, float), "units": int,
}  # fmt: skip


def _checked(table: Any, keys: dict[str, type | tuple[type, ...]], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ShelfScenarioError(f"{where} must be a table")
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise ShelfScenarioError(f"{where}: unknown key(s) {unknown} (known: {sorted(keys)})")
    for key, value in table.items():
        kinds = keys[key]
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise ShelfScenarioError(f"{where}.{key} has the wrong type: {value!r}")
    return dict(table)


@dataclass
class ShelfScenario:
    name: str
    lanes: list[LaneSpec]
    seed: int = 1
    duration_s: float = 1800.0
    rate_hz: float = 10.0
    noise_g: float = 2.0
    drift_g_per_h: float = 3.0
    unit_spread: float = 0.0
    temperature: dict[str, float] = field(default_factory=dict)
    shoppers: dict[str, float] = field(default_factory=dict)
    restock: dict[str, float] = field(default_factory=dict)
    tidy: dict[str, float] = field(default_factory=dict)
    faults: list[Action] = field(default_factory=list)

    # -- loading ------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path, *, seed: int | None = None) -> ShelfScenario:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ShelfScenarioError(f"scenario {str(path)!r}: {exc}") from exc
        return cls.from_dict(raw, seed=seed)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, seed: int | None = None) -> ShelfScenario:
        unknown = sorted(set(raw) - {*_SECTIONS, "lanes", "faults"})
        if unknown:
            raise ShelfScenarioError(f"unknown section(s) {unknown}")
        head = _checked(raw.get("scenario", {}), _SECTIONS["scenario"], "scenario")
        if "name" not in head:
            raise ShelfScenarioError("scenario.name is required")
        lanes_raw = raw.get("lanes", [])
        if not isinstance(lanes_raw, list) or not 1 <= len(lanes_raw) <= 32:
            raise ShelfScenarioError("[[lanes]]: a shelf has 1..32 lanes")
        lanes = []
        for i, lane in enumerate(lanes_raw, start=1):
            spec = _checked(lane, _LANE_KEYS, f"lanes[{i}]")
            if "sku" not in spec or "unit_weight_g" not in spec:
                raise ShelfScenarioError(f"lanes[{i}] needs sku and unit_weight_g")
            if not spec["unit_weight_g"] > 0 or spec.get("units", 0) < 0:
                raise ShelfScenarioError(f"lanes[{i}]: unit_weight_g must be > 0 and units ≥ 0")
            lanes.append(
                LaneSpec(
                    sku=str(spec["sku"]),
                    unit_weight_g=float(spec["unit_weight_g"]),
                    units=int(spec.get("units", 12)),
                    tare_g=float(spec.get("tare_g", 150.0)),
                    capacity=int(spec.get("capacity", 24)),
                )
            )
        faults = []
        for i, fault in enumerate(raw.get("faults", []), start=1):
            spec = _checked(fault, _FAULT_KEYS, f"faults[{i}]")
            kind = spec.get("kind")
            if kind not in FAULT_KINDS:
                raise ShelfScenarioError(f"faults[{i}].kind must be one of {FAULT_KINDS}, not {kind!r}")
            if "at_s" not in spec:
                raise ShelfScenarioError(f"faults[{i}].at_s is required")
            lane = spec.get("lane", 0)
            if kind in (*CELL_FAULTS, "sku_change") and not 1 <= lane <= len(lanes):
                raise ShelfScenarioError(f"faults[{i}].lane must be 1..{len(lanes)}, not {lane}")
            if kind == "sku_change" and not spec.get("unit_weight_g", 0) > 0:
                raise ShelfScenarioError(f"faults[{i}]: sku_change needs unit_weight_g > 0")
            faults.append(
                Action(
                    float(spec["at_s"]), kind, lane, int(spec.get("units", 0)),
                    duration_s=float(spec.get("duration_s", 2.0 if kind == "reboot" else 30.0)),
                    unit_weight_g=float(spec.get("unit_weight_g", 0.0)),
                )
            )  # fmt: skip
        sections = {name: _checked(raw.get(name, {}), _SECTIONS[name], name) for name in _SECTIONS}
        for name, section in sections.items():
            for key, value in section.items():
                if key.endswith("probability") and not 0.0 <= value <= 1.0:
                    raise ShelfScenarioError(f"{name}.{key} must be within 0..1, not {value}")
        scenario = cls(
            name=head["name"],
            lanes=lanes,
            seed=head.get("seed", 1) if seed is None else seed,
            duration_s=float(head.get("duration_s", 1800.0)),
            rate_hz=float(head.get("rate_hz", 10.0)),
            noise_g=float(head.get("noise_g", 2.0)),
            drift_g_per_h=float(head.get("drift_g_per_h", 3.0)),
            unit_spread=float(head.get("unit_spread", 0.0)),
            temperature={k: float(v) for k, v in sections["temperature"].items()},
            shoppers={k: float(v) for k, v in sections["shoppers"].items()},
            restock={k: float(v) for k, v in sections["restock"].items()},
            tidy={k: float(v) for k, v in sections["tidy"].items()},
            faults=faults,
        )
        if not scenario.duration_s > 0 or not 0.1 <= scenario.rate_hz <= 100:
            raise ShelfScenarioError("scenario: duration_s must be > 0 and rate_hz within 0.1..100")
        if not 0 <= scenario.unit_spread <= 0.2 or scenario.noise_g < 0:
            raise ShelfScenarioError("scenario: unit_spread must be within 0..0.2 and noise_g ≥ 0")
        if scenario.shoppers.get("mean_interval_s", 15.0) <= 0:
            raise ShelfScenarioError("shoppers.mean_interval_s must be > 0")
        return scenario

    def with_changes(self, *, unit_spread: float | None = None, faults: bool = True) -> ShelfScenario:
        """A copy with another unit-weight spread, or without its faults."""
        copy = ShelfScenario(**self.__dict__)
        if unit_spread is not None:
            copy.unit_spread = unit_spread
        if not faults:
            copy.faults = []
        return copy

    # -- the plan -----------------------------------------------------------------------

    def plan(self) -> list[Action]:
        """Every action of the run, in time order (deterministic in the seed)."""
        rng = random.Random(self.seed)
        s = self.shoppers
        interval = s.get("mean_interval_s", 15.0)
        gap = s.get("lane_gap_s", 4.0)
        n = len(self.lanes)
        units = [lane.units for lane in self.lanes]
        busy = [0.0] * n
        restock_pending = [False] * n
        out: list[Action] = []
        queue: list[tuple[float, int, str, int, int]] = []  # (t, order, what, lane, units)
        order = 0

        def push(t: float, what: str, lane: int = 0, k: int = 0) -> None:
            nonlocal order
            order += 1
            heapq.heappush(queue, (t, order, what, lane, k))

        def free_lane(t: float, want_stock: bool) -> int | None:
            lanes = [i for i in range(n) if busy[i] <= t and (units[i] > 0 or not want_stock)]
            return rng.choice(lanes) if lanes else None

        t = rng.expovariate(1.0 / interval)
        while t < self.duration_s:
            push(t, "arrive")
            if rng.random() < s.get("group_probability", 0.0):
                push(t + rng.uniform(0.0, 2.0), "arrive")  # a second shopper at the shelf at once
            t += rng.expovariate(1.0 / interval)
        for fault in self.faults:
            out.append(fault)
            if fault.kind == "sku_change":
                push(fault.at_s, "sku", fault.lane - 1, fault.units)
        below = int(self.restock.get("below_units", -1))
        case = int(self.restock.get("case_units", 12))
        while queue:
            t, _, what, i, k = heapq.heappop(queue)
            if t >= self.duration_s:
                continue
            if what == "sku":
                units[i] = k
                busy[i] = max(busy[i], t + gap)
                continue
            if what in ("putback", "restock", "tidy") and busy[i] > t:
                push(busy[i] + 0.1, what, i, k)  # wait for the lane
                continue
            if what == "arrive":
                lane = free_lane(t, want_stock=True)
                if lane is None:
                    continue
                r = rng.random()
                p_basket = s.get("basket_probability", 0.0)
                p_drop = s.get("drop_probability", 0.0)
                p_hand = s.get("hand_probability", 0.0)
                if r < p_basket:
                    dur = rng.uniform(5.0, 30.0)
                    out.append(
                        Action(t, "basket", lane + 1, grams=rng.uniform(600.0, 2500.0), duration_s=dur)
                    )
                    busy[lane] = t + dur + gap
                    continue
                if r < p_basket + p_drop:
                    out.append(Action(t, "drop", lane + 1, grams=rng.uniform(1500.0, 5000.0)))
                    busy[lane] = t + gap
                    continue
                if r < p_basket + p_drop + p_hand:
                    dur = rng.uniform(1.0, 4.0)
                    out.append(Action(t, "hand", lane + 1, grams=rng.uniform(150.0, 600.0), duration_s=dur))
                    busy[lane] = t + dur + gap
                    continue
                k = min(units[lane], rng.randint(1, max(1, int(s.get("max_units", 2)))))
                out.append(Action(t, "pick", lane + 1, k))
                units[lane] -= k
                busy[lane] = t + gap
                if rng.random() < s.get("putback_probability", 0.0):
                    back = rng.randint(1, k)
                    later = t + rng.uniform(5.0, 60.0)
                    others = [j for j in range(n) if j != lane]
                    if others and rng.random() < s.get("wrong_lane_probability", 0.0):
                        push(later, "misplace", rng.choice(others), back * 1000 + lane)
                    else:
                        push(later, "putback", lane, back)
                if 0 <= units[lane] < below and not restock_pending[lane]:
                    restock_pending[lane] = True
                    push(t + self.restock.get("delay_s", 60.0), "restock", lane)
            elif what == "putback":
                out.append(Action(t, "putback", i + 1, k))
                units[i] += k
                busy[i] = t + gap
            elif what == "misplace":
                if busy[i] > t:
                    push(busy[i] + 0.1, what, i, k)
                    continue
                back, source = divmod(k, 1000)
                out.append(Action(t, "misplace", i + 1, back, from_lane=source + 1))
                busy[i] = t + gap
                push(t + self.tidy.get("after_s", 90.0), "tidy", i)
            elif what == "restock":
                restock_pending[i] = False
                cap = self.lanes[i].capacity
                add = min(case, max(0, cap - units[i])) if cap > units[i] else 0
                if add:
                    out.append(Action(t, "restock", i + 1, add))
                    units[i] += add
                    busy[i] = t + gap
            elif what == "tidy":
                out.append(Action(t, "tidy", i + 1))
                busy[i] = t + gap
        out.sort(key=lambda a: a.at_s)
        return out

    # -- the device ---------------------------------------------------------------------

    def lane_options(self) -> list[dict[str, float]]:
        """The gateway's ``lanes`` option for this shelf (what was calibrated at install)."""
        return [
            {
                "unit_weight_g": lane.unit_weight_g,
                "tare_g": lane.tare_g,
                "unit_spread": max(self.unit_spread, 0.01),
            }
            for lane in self.lanes
        ]

    def build(self, device_id: str = "shelf-1", *, clock: Clock | None = None) -> ShelfDevice:
        """The shelf with every planned action scheduled (start it, or drive it by hand)."""
        temp = self.temperature
        lanes = [
            Lane(
                spec.unit_weight_g, spec.units, tare_g=spec.tare_g, drift_g_per_h=self.drift_g_per_h,
                unit_spread=self.unit_spread, zero_tempco_g_per_c=temp.get("zero_tempco_g_per_c", 0.0),
                span_tempco_per_c=temp.get("span_tempco_per_c", 0.0),
            )
            for spec in self.lanes
        ]  # fmt: skip
        device = ShelfDevice(
            device_id, lanes=lanes, seed=self.seed, noise_g=self.noise_g, rate_hz=self.rate_hz, clock=clock,
            temperature_c=temp.get("base_c", 20.0), temperature_swing_c=temp.get("swing_c", 0.0),
            temperature_period_s=temp.get("period_s", 3600.0),
        )  # fmt: skip
        for a in self.plan():
            match a.kind:
                case "pick":
                    device.pick(a.lane, a.units, at=a.at_s)
                case "putback":
                    device.put_back(a.lane, a.units, at=a.at_s)
                case "misplace":
                    device.put_back(a.lane, a.units, at=a.at_s, from_lane=a.from_lane)
                case "restock":
                    device.restock(a.lane, a.units, at=a.at_s)
                case "tidy":
                    device.tidy(a.lane, at=a.at_s)
                case "basket":
                    device.basket(a.lane, a.duration_s, a.grams, at=a.at_s)
                case "hand":
                    device.rest_hand(a.lane, a.duration_s, a.grams, at=a.at_s)
                case "drop":
                    device.drop(a.lane, a.grams, at=a.at_s)
                case "reboot":
                    device.reboot(a.duration_s, at=a.at_s)
                case "unplug":
                    device.usb_unplug(a.duration_s, at=a.at_s)
                case "sku_change":
                    device.change_sku(a.lane, a.unit_weight_g, a.units, at=a.at_s)
                case kind:
                    device.cell_fault(a.lane, kind, a.duration_s, at=a.at_s)
        return device

    def truth(self) -> dict[str, Any]:
        """The scenario and its plan, as JSON-shaped data (beside the device's own record)."""
        return {
            "name": self.name,
            "seed": self.seed,
            "duration_s": self.duration_s,
            "lanes": [asdict(lane) for lane in self.lanes],
            "plan": [asdict(a) for a in self.plan()],
        }


def packaged_scenario(name: str, *, seed: int | None = None) -> ShelfScenario:
    """One of the scenarios shipped in ``bohsense.simulators/scenarios`` (``shelf-standard``…)."""
    ref = resources.files("bohsense.simulators") / "scenarios" / f"{name}.toml"
    if not ref.is_file():
        raise ShelfScenarioError(f"no packaged scenario {name!r}")
    with resources.as_file(ref) as path:
        return ShelfScenario.load(path, seed=seed)
