"""A smart shelf: N lanes, each a load cell under a row of one SKU.

Per lane the device reports gross grams: platter (tare) + units × unit weight, plus
gaussian noise, slow creep drift, and transients: a pick rings like an underdamped
scale (overshoot, ~0.8 s to settle within 1 %), a hand pressing while it grabs, and a
resting hand that wobbles with physiological tremor. Shoppers are scripted
(``pick``/``restock`` with ``at=`` seconds after start) or random (seeded).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from bohsense.firmware_bridge import Command, CommandOp, DeviceKind, Nack, NackReason
from bohsense.simulators._pty import PtyDevice

__all__ = ["Lane", "ShelfDevice"]

RING_HZ = 4.0
RING_TAU_S = 0.18
GRAB_S = 0.35


@dataclass
class Lane:
    """A lane's physical truth. ``tare_g`` is the empty platter's weight."""

    unit_weight_g: float
    units: int
    tare_g: float = 150.0
    drift_g_per_h: float = 3.0
    zero_g: float = 0.0  # device-side zero set by TARE
    scale: float = 1.0  # device-side calibration factor
    transients: list[tuple[float, float, float]] = field(default_factory=list)  # (t0, delta_g, press_g)
    hands: list[tuple[float, float, float]] = field(default_factory=list)  # (start, end, grams)

    def physical_g(self, t: float, rng: random.Random, noise_g: float) -> float:
        w = self.tare_g + self.units * self.unit_weight_g + self.drift_g_per_h * t / 3600.0
        live = []
        for t0, delta, press in self.transients:
            dt = t - t0
            if dt < 0:  # goods still there, a hand pressing on them while grabbing
                w += -delta + press * math.sin(math.pi * max(0.0, dt + GRAB_S) / GRAB_S)
                live.append((t0, delta, press))
            elif dt < 8 * RING_TAU_S:
                # the new weight is already in ``units``; ring from the old one towards it
                w -= delta * math.exp(-dt / RING_TAU_S) * math.cos(2 * math.pi * RING_HZ * dt)
                live.append((t0, delta, press))
        self.transients = live
        self.hands = [h for h in self.hands if h[1] > t]
        for start, end, grams in self.hands:
            if start <= t < end:
                tremor = 0.08 * math.sin(2 * math.pi * 1.3 * t) + 0.05 * math.sin(2 * math.pi * 7.1 * t)
                w += grams * (1.0 + tremor) + rng.gauss(0.0, grams * 0.03)
        return w + rng.gauss(0.0, noise_g)

    def reported_g(self, t: float, rng: random.Random, noise_g: float) -> float:
        return (self.physical_g(t, rng, noise_g) - self.zero_g) * self.scale


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
        self.noise_g = noise_g

    def channel_names(self) -> tuple[str, ...]:
        return tuple(f"lane-{i + 1}" for i in range(len(self.lanes)))

    def sample_values(self, t_s: float) -> tuple[float, ...]:
        return tuple(lane.reported_g(t_s, self._rng, self.noise_g) for lane in self.lanes)

    def _lane(self, lane: int) -> Lane:
        if not 1 <= lane <= len(self.lanes):
            raise ValueError(f"lane {lane} outside 1..{len(self.lanes)}")
        return self.lanes[lane - 1]

    # -- shoppers -----------------------------------------------------------------------

    def pick(self, lane: int, units: int = 1, at: float | None = None) -> None:
        """A shopper takes ``units`` from ``lane`` at ``at`` s after start (default: now)."""
        self._lane(lane)
        self.schedule(self.elapsed() if at is None else at, lambda: self._apply(lane, -units, "pick"))

    def restock(self, lane: int, units: int, at: float | None = None) -> None:
        self._lane(lane)
        self.schedule(self.elapsed() if at is None else at, lambda: self._apply(lane, units, "restock"))

    def rest_hand(self, lane: int, duration_s: float, grams: float = 400.0, at: float | None = None) -> None:
        """A hand (or a basket) resting on the lane: extra, wobbling weight; no units change."""
        start = self.elapsed() if at is None else at
        target = self._lane(lane)

        def apply() -> None:
            with self._lock:
                target.hands.append((start, start + duration_s, grams))
            self.record({"kind": "hand", "lane": lane, "duration_s": duration_s, "grams": grams})

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
            if clamp:
                change = max(change, -target.units)
            if change == 0:
                return
            target.units += change
            press = self._rng.uniform(80.0, 250.0) if kind == "pick" else 0.0
            # the grab happens GRAB_S before the goods leave the shelf
            target.transients.append((t + GRAB_S, change * target.unit_weight_g, press))
            units_after = target.units
        self.record({"kind": kind, "lane": lane, "units": abs(change), "units_after": units_after})

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
                }
                for i, lane in enumerate(self.lanes)
            ]
        }
