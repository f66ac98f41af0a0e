"""A smart shelf: N lanes, each a load cell under a row of one SKU.

Per lane the device reports gross grams: platter (tare) + the weights of the units on it
(each unit its own weight: real cans of one SKU differ by a few per cent, ``unit_spread``)
+ any foreign item, plus gaussian noise, slow creep drift, the load cell's temperature
effect (zero and span, against the shelf's temperature), and transients: a pick rings like
an underdamped scale (overshoot, ~0.8 s to settle within 1 %), a hand pressing while it
grabs, a resting hand that wobbles with physiological tremor, a basket set down and lifted,
a heavy item dropped on the lane (a sharp ringing impulse, no units change).

Shoppers are scripted (``pick``/``put_back``/``restock`` with ``at=`` seconds after start),
random (seeded ``shoppers``) or a scenario (``bohsense.simulators._shelf_scenario``).
Device faults: a lane's cell ``dead`` (NaN, the ADC's fault flag), ``stuck`` (the same
value again and again), ``rail`` (a broken wire: the ADC at its negative limit), a
``reboot`` (silent for a while, then HELLO with seq 0 and an unsynced clock), a lane's SKU
changed without recalibration (``change_sku``); the pseudo-terminal front end adds USB
unplug and replug (``PtyDevice.unplug`` / ``replug``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from bohsense.firmware_bridge import Command, CommandOp, DeviceKind, Nack, NackReason
from bohsense.simulators._pty import PtyDevice

__all__ = ["CELL_FAULTS", "Lane", "ShelfDevice"]

RING_HZ = 4.0
RING_TAU_S = 0.18
GRAB_S = 0.35
IMPULSE_HZ = 9.0
IMPULSE_TAU_S = 0.12
#: what a broken load-cell wire reads: the ADC at its negative limit, in grams
RAIL_G = -250_000.0
#: the temperature at which the load cells were calibrated
REFERENCE_C = 20.0
#: the faults of one lane's cell
CELL_FAULTS = ("dead", "stuck", "rail")


@dataclass
class Lane:
    """A lane's physical truth. ``tare_g`` is the empty platter's weight."""

    unit_weight_g: float
    units: int
    tare_g: float = 150.0
    drift_g_per_h: float = 3.0
    zero_g: float = 0.0  # device-side zero set by TARE
    scale: float = 1.0  # device-side calibration factor
    #: the SKU's unit-weight spread: each unit weighs unit_weight_g × (1 ± up to this)
    unit_spread: float = 0.0
    #: the load cell's temperature effect: zero (g per °C) and span (fraction per °C)
    zero_tempco_g_per_c: float = 0.0
    span_tempco_per_c: float = 0.0
    transients: list[tuple[float, float, float]] = field(default_factory=list)  # (t0, delta_g, press_g)
    hands: list[tuple[float, float, float]] = field(default_factory=list)  # (start, end, grams)
    baskets: list[tuple[float, float, float]] = field(default_factory=list)  # (start, end, grams)
    impulses: list[tuple[float, float]] = field(default_factory=list)  # (t0, peak grams)
    #: the weight of every unit on the lane (kept as long as ``units``)
    items: list[float] = field(default_factory=list)
    #: items of another SKU lying on this lane (put back in the wrong lane)
    foreign: list[float] = field(default_factory=list)
    #: a fault of the lane's cell (one of ``CELL_FAULTS``), or None
    fault: str | None = None
    stuck_g: float = 0.0
    last_g: float = 0.0

    def draw_unit(self, rng: random.Random) -> float:
        return self.unit_weight_g * (1.0 + rng.uniform(-self.unit_spread, self.unit_spread))

    def sync_items(self, rng: random.Random | None = None) -> None:
        """Make ``items`` as long as ``units`` (units may be set directly)."""
        while len(self.items) < self.units:
            self.items.append(self.unit_weight_g if rng is None else self.draw_unit(rng))
        del self.items[max(0, self.units) :]

    def physical_g(self, t: float, rng: random.Random, noise_g: float) -> float:
        if len(self.items) != self.units:
            self.sync_items()
        w = self.tare_g + sum(self.items) + sum(self.foreign) + self.drift_g_per_h * t / 3600.0
        live = []
        for t0, delta, press in self.transients:
            dt = t - t0
            if dt < 0:  # goods still there, a hand pressing on them while grabbing
                w += -delta + press * math.sin(math.pi * max(0.0, dt + GRAB_S) / GRAB_S)
                live.append((t0, delta, press))
            elif dt < 8 * RING_TAU_S:
                # the new weight is already in ``items``; ring from the old one towards it
                w -= delta * math.exp(-dt / RING_TAU_S) * math.cos(2 * math.pi * RING_HZ * dt)
                live.append((t0, delta, press))
        self.transients = live
        self.hands = [h for h in self.hands if h[1] > t]
        for start, end, grams in self.hands:
            if start <= t < end:
                tremor = 0.08 * math.sin(2 * math.pi * 1.3 * t) + 0.05 * math.sin(2 * math.pi * 7.1 * t)
                w += grams * (1.0 + tremor) + rng.gauss(0.0, grams * 0.03)
        self.baskets = [b for b in self.baskets if b[1] + 8 * RING_TAU_S > t]
        for start, end, grams in self.baskets:
            if start <= t < end:  # set down: rings in, then rests still
                dt = t - start
                w += grams * (1.0 - math.exp(-dt / RING_TAU_S) * math.cos(2 * math.pi * RING_HZ * dt))
            elif t >= end:  # lifted: rings out
                dt = t - end
                w += grams * math.exp(-dt / RING_TAU_S) * math.cos(2 * math.pi * RING_HZ * dt)
        self.impulses = [i for i in self.impulses if t - i[0] < 10 * IMPULSE_TAU_S]
        for t0, peak in self.impulses:
            dt = t - t0
            if dt >= 0:
                w += peak * math.exp(-dt / IMPULSE_TAU_S) * math.cos(2 * math.pi * IMPULSE_HZ * dt)
        return w + rng.gauss(0.0, noise_g)

    def reported_g(
        self, t: float, rng: random.Random, noise_g: float, temperature_c: float = REFERENCE_C
    ) -> float:
        dtemp = temperature_c - REFERENCE_C
        physical = self.physical_g(t, rng, noise_g) + self.zero_tempco_g_per_c * dtemp
        value = (physical - self.zero_g) * self.scale * (1.0 + self.span_tempco_per_c * dtemp)
        match self.fault:
            case "dead":
                return math.nan
            case "stuck":
                return self.stuck_g
            case "rail":
                return RAIL_G + rng.gauss(0.0, noise_g)
        self.last_g = value
        return value


class ShelfDevice(PtyDevice):
    kind = DeviceKind.SHELF

    def __init__(
        self,
        device_id: str = "shelf-1",
        *,
        lanes: int | list[Lane] = 4,
        seed: int = 0,
        noise_g: float = 2.0,
        rate_hz: float = 10.0,
        temperature_c: float = REFERENCE_C,
        temperature_swing_c: float = 0.0,
        temperature_period_s: float = 3600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(device_id, rate_hz=rate_hz, **kwargs)
        self._rng = random.Random(seed)
        if isinstance(lanes, int):
            weights = (355.0, 500.0, 150.0, 750.0, 240.0, 1000.0)
            lanes = [
                Lane(unit_weight_g=weights[i % len(weights)], units=12, tare_g=150.0 + 10 * i)
                for i in range(lanes)
            ]
        if not 1 <= len(lanes) <= 32:
            raise ValueError(f"a shelf has 1..32 lanes, got {len(lanes)}")
        self.lanes = lanes
        for lane in lanes:
            lane.sync_items(self._rng)
        self.noise_g = noise_g
        self.temperature = (temperature_c, temperature_swing_c, temperature_period_s)
        #: units taken by shoppers and not yet put back, per lane: their weights
        self._held: dict[int, list[float]] = {}

    def channel_names(self) -> tuple[str, ...]:
        return tuple(f"lane-{i + 1}" for i in range(len(self.lanes)))

    def temperature_c(self, t_s: float) -> float:
        base, swing, period = self.temperature
        return base + swing * math.sin(2 * math.pi * t_s / period) if swing else base

    def sample_values(self, t_s: float) -> tuple[float, ...]:
        temp = self.temperature_c(t_s)
        return tuple(lane.reported_g(t_s, self._rng, self.noise_g, temp) for lane in self.lanes)

    def _lane(self, lane: int) -> Lane:
        if not 1 <= lane <= len(self.lanes):
            raise ValueError(f"lane {lane} outside 1..{len(self.lanes)}")
        return self.lanes[lane - 1]

    def _at(self, at: float | None) -> float:
        return self.elapsed() if at is None else at

    # -- shoppers -----------------------------------------------------------------------

    def pick(self, lane: int, units: int = 1, at: float | None = None) -> None:
        """A shopper takes ``units`` from ``lane`` at ``at`` s after start (default: now)."""
        self._lane(lane)
        self.schedule(self._at(at), lambda: self._apply(lane, -units, "pick"))

    def put_back(
        self, lane: int, units: int = 1, at: float | None = None, from_lane: int | None = None
    ) -> None:
        """A shopper puts ``units`` back on ``lane``; taken from ``from_lane`` (another SKU:
        put back in the wrong lane, a foreign item there) when it is not ``lane``."""
        self._lane(lane)
        source = lane if from_lane is None else from_lane
        self._lane(source)
        if source == lane:
            self.schedule(self._at(at), lambda: self._apply(lane, units, "putback"))
        else:
            self.schedule(self._at(at), lambda: self._misplace(source, lane, units))

    def restock(self, lane: int, units: int, at: float | None = None) -> None:
        """Staff add ``units`` (a case) to ``lane``."""
        self._lane(lane)
        self.schedule(self._at(at), lambda: self._apply(lane, units, "restock"))

    def tidy(self, lane: int, at: float | None = None) -> None:
        """Staff take every foreign item off ``lane``."""
        target = self._lane(lane)

        def apply() -> None:
            with self._lock:
                removed, target.foreign = target.foreign, []
                if removed:
                    target.transients.append((self.elapsed() + GRAB_S, -sum(removed), 100.0))
            self.record({"kind": "tidy", "lane": lane, "items": len(removed)})

        self.schedule(self._at(at), apply)

    def rest_hand(self, lane: int, duration_s: float, grams: float = 400.0, at: float | None = None) -> None:
        """A hand resting on the lane: extra, wobbling weight; no units change."""
        start = self._at(at)
        target = self._lane(lane)

        def apply() -> None:
            with self._lock:
                target.hands.append((start, start + duration_s, grams))
            self.record({"kind": "hand", "lane": lane, "duration_s": duration_s, "grams": grams})

        self.schedule(start, apply)

    def basket(self, lane: int, duration_s: float, grams: float = 1500.0, at: float | None = None) -> None:
        """A basket set down on the lane for ``duration_s``, then lifted: a still extra weight."""
        start = self._at(at)
        target = self._lane(lane)

        def apply() -> None:
            with self._lock:
                target.baskets.append((start, start + duration_s, grams))
            self.record({"kind": "basket", "lane": lane, "duration_s": duration_s, "grams": grams})

        self.schedule(start, apply)

    def drop(self, lane: int, grams: float = 3000.0, at: float | None = None) -> None:
        """A heavy item dropped on the lane and caught or taken away at once: an impulse."""
        start = self._at(at)
        target = self._lane(lane)

        def apply() -> None:
            with self._lock:
                target.impulses.append((start, grams))
            self.record({"kind": "drop", "lane": lane, "grams": grams})

        self.schedule(start, apply)

    def shoppers(
        self, mean_interval_s: float = 15.0, until_s: float = float("inf"), seed: int | None = None
    ) -> None:
        """Random shoppers (Poisson arrivals) each take 1–2 units from a non-empty lane.

        Each arrival schedules the next, so ``until_s`` may be infinite.
        """
        rng = random.Random(self._rng.random() if seed is None else seed)

        def arrive(t: float) -> None:
            with self._lock:
                stocked = [i + 1 for i, lane in enumerate(self.lanes) if lane.units > 0]
            if stocked:
                self._apply(rng.choice(stocked), -rng.choice((1, 1, 1, 2)), "pick")
            nxt = t + rng.expovariate(1.0 / mean_interval_s)
            if nxt < until_s:
                self.schedule(nxt, lambda: arrive(nxt))

        first = self.elapsed() + rng.expovariate(1.0 / mean_interval_s)
        if first < until_s:
            self.schedule(first, lambda: arrive(first))

    def _apply(self, lane: int, change: int, kind: str, clamp: bool = True) -> None:
        t = self.elapsed()
        with self._lock:
            target = self.lanes[lane - 1]
            target.sync_items(self._rng)
            if clamp:
                change = max(change, -target.units)
            if change == 0:
                return
            held = self._held.setdefault(lane, [])
            if change < 0:  # the shopper takes units from the front, any of them
                taken = [target.items.pop(self._rng.randrange(len(target.items))) for _ in range(-change)]
                held += taken
                delta = -sum(taken)
            else:  # put back what was taken from this lane, or new units (a restock)
                added = [
                    held.pop() if kind == "putback" and held else target.draw_unit(self._rng)
                    for _ in range(change)
                ]
                target.items += added
                delta = sum(added)
            target.units = len(target.items)
            press = self._rng.uniform(80.0, 250.0) if kind == "pick" else 0.0
            # the grab happens GRAB_S before the goods leave the shelf
            target.transients.append((t + GRAB_S, delta, press))
            units_after = target.units
        self.record({"kind": kind, "lane": lane, "units": abs(change), "units_after": units_after})

    def _misplace(self, source: int, lane: int, units: int) -> None:
        t = self.elapsed()
        with self._lock:
            donor, target = self.lanes[source - 1], self.lanes[lane - 1]
            held = self._held.setdefault(source, [])
            items = [held.pop() if held else donor.draw_unit(self._rng) for _ in range(units)]
            target.foreign += items
            target.transients.append((t + GRAB_S, sum(items), 0.0))
        self.record({"kind": "misplaced", "lane": lane, "from_lane": source, "units": units})

    # -- faults -------------------------------------------------------------------------

    def cell_fault(self, lane: int, kind: str, duration_s: float, at: float | None = None) -> None:
        """``lane``'s load cell goes ``kind`` (``CELL_FAULTS``) for ``duration_s``."""
        if kind not in CELL_FAULTS:
            raise ValueError(f"a cell fault is one of {CELL_FAULTS}, not {kind!r}")
        target = self._lane(lane)
        start = self._at(at)

        def begin() -> None:
            with self._lock:
                target.fault = kind
                target.stuck_g = target.last_g
            self.record({"kind": "fault", "fault": kind, "lane": lane, "duration_s": duration_s})

        def end() -> None:
            with self._lock:
                target.fault = None
            self.record({"kind": "fault-end", "fault": kind, "lane": lane})

        self.schedule(start, begin)
        self.schedule(start + duration_s, end)

    def change_sku(self, lane: int, unit_weight_g: float, units: int, at: float | None = None) -> None:
        """Staff replace the lane's goods with ``units`` of another SKU, and nobody tells the
        gateway (no recalibration): its unit weight is now wrong for this lane."""
        target = self._lane(lane)

        def apply() -> None:
            with self._lock:
                before = sum(target.items)
                target.unit_weight_g = unit_weight_g
                target.items = []
                target.units = units
                target.sync_items(self._rng)
                self._held.pop(lane, None)
                target.transients.append((self.elapsed() + GRAB_S, sum(target.items) - before, 0.0))
            self.record(
                {"kind": "sku_change", "lane": lane, "unit_weight_g": unit_weight_g, "units_after": units}
            )

        self.schedule(self._at(at), apply)

    def reboot(self, down_s: float = 2.0, at: float | None = None) -> None:
        """The device resets: silent for ``down_s``, then HELLO with seq 0 and an unsynced clock."""
        start = self._at(at)
        self.schedule(start, self.power_off)
        self.schedule(start + down_s, self.power_on)

    # -- commands and truth -------------------------------------------------------------

    def on_command(self, command: Command) -> Nack | None:
        if command.op in (CommandOp.TARE, CommandOp.CALIBRATE):
            if command.lane > len(self.lanes) or (command.op is CommandOp.CALIBRATE and command.lane == 0):
                return Nack(0, NackReason.BAD_ARGUMENT, f"no lane {command.lane}")
            targets = self.lanes if command.lane == 0 else [self.lanes[command.lane - 1]]
            for lane in targets:
                now = lane.physical_g(self.elapsed(), self._rng, 0.0)
                if command.op is CommandOp.TARE:
                    lane.zero_g = now
                elif command.value <= 0 or now - lane.zero_g <= 0:
                    return Nack(
                        0, NackReason.BAD_ARGUMENT, "calibration needs a positive known mass on the lane"
                    )
                else:
                    lane.scale = command.value / (now - lane.zero_g)
            self.record({"kind": command.op.name.lower(), "lane": command.lane, "value": command.value})
            return None
        return super().on_command(command)

    def lane_options(self) -> list[dict[str, float]]:
        """The ``lanes`` option of the gateway's serial driver matching this shelf."""
        return [{"unit_weight_g": lane.unit_weight_g, "tare_g": lane.tare_g} for lane in self.lanes]

    def model_truth(self) -> dict[str, Any]:
        return {
            "lanes": [
                {
                    "lane": i + 1,
                    "units": lane.units,
                    "unit_weight_g": lane.unit_weight_g,
                    "tare_g": lane.tare_g,
                    "foreign_items": len(lane.foreign),
                    "fault": lane.fault,
                }
                for i, lane in enumerate(self.lanes)
            ]
        }
