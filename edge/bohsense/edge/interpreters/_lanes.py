"""Shelf lanes: load-cell samples → ``weight_g`` and ``units`` readings and pick/putback events.

Every sample of a lane becomes a ``weight_g`` reading of the lane device
(``<device>.lane-<n>``): the device's value minus the lane's offset. A lane's units are
``round((weight - tare) / unit_weight)`` clamped at 0, computed from the mean of a window
of samples and *settled* only when

- the window covers ``window_s`` of device time (at least 3 samples), and
- every sample in it lies within ``tolerance_g`` of every other (max − min), so the
  ringing after a pick, a hand pressing or resting on the lane are not counted, and
- the mean is within ``max_residual`` units of a whole number (a basket or a hand that
  happens to hold still adds a weight that is rarely a whole number of units).

A settled count is emitted as a ``units`` reading when it differs from the last one
emitted, or when ``heartbeat_s`` has passed since (so a consumer sees the lane is alive).

When the settled count differs from the previous settled count, the lane also emits a
``shelf.pick`` (fewer units) or ``shelf.putback`` (more) event with a ``LaneChange``:
``units`` changed, ``units_after``, ``weight_delta_g`` (settled mean now − settled mean
before) and a ``confidence`` in [0, 1] (``change_confidence``): how close the weight
change is to a whole number of unit weights, discounted by the noise of the two settled
windows. The previous settled count survives a reconnect or a device reboot with the same
lane layout, so a pick made while the gateway was away is still reported once the lane
settles again; it does not survive a gateway restart (nothing is reported then).
A change beyond what a ``LaneChange`` can carry (more than 100,000 units, 10 t) is
counted (``lane_change_out_of_range``) and makes no event; the readings are unchanged.

The lane's ``offset_g`` is what is subtracted from the device's reading: the configured
``tare_g`` until a TARE the device acknowledged (``Tared``) moves it: the device then
reads the present load as 0, so the offset becomes 0 (a plain tare: the present load is
the lane's new empty) or minus the net weight the lane held (``keep``, a forced
re-baseline: weight and units carry on as they were). Moved offsets are the
interpreter's snapshot, ``{"<device id>": {"<lane n>": <offset g>}}``, and are applied
again when the device attaches after a restore.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from bohsense.contracts.devices import lane_device
from bohsense.contracts.events import Event, LaneChange
from bohsense.contracts.schema import Reading
from bohsense.edge.interpreters._base import (
    ChannelSample,
    DeviceAttached,
    Interpretation,
    InterpreterStateError,
    JsonState,
    Observation,
    Tared,
)

#: the bounds of a ``LaneChange`` (contracts.events); a change beyond them is counted
#: (``lane_change_out_of_range``) instead of becoming an event no cloud would accept
_MAX_UNITS = 100_000
_MAX_UNITS_AFTER = 1_000_000
_MAX_DELTA_G = 1e7

__all__ = [
    "LaneConfig",
    "LaneEstimator",
    "LaneInterpreter",
    "LaneStep",
    "LaneUpdate",
    "StabilityConfig",
    "change_confidence",
]


@dataclass(frozen=True, slots=True)
class LaneConfig:
    unit_weight_g: float | None = None
    tare_g: float = 0.0


@dataclass(frozen=True, slots=True)
class StabilityConfig:
    window_s: float = 0.5
    tolerance_g: float = 15.0
    max_residual: float = 0.3
    heartbeat_s: float = 30.0


@dataclass(frozen=True, slots=True)
class LaneStep:
    """The settled count moved from ``units_before`` to ``units_after``."""

    units_before: int
    units_after: int
    weight_delta_g: float
    #: the larger max − min of the two settled windows (grams)
    noise_g: float


@dataclass(frozen=True, slots=True)
class LaneUpdate:
    #: the units to emit as a reading, or None
    units: int | None = None
    #: the settled count changed, or None
    step: LaneStep | None = None


def change_confidence(weight_delta_g: float, units: int, unit_weight_g: float, noise_g: float) -> float:
    """How sure a settled change of ``weight_delta_g`` is ``units`` whole items, in [0, 1].

    ``closeness`` is 1 when the change is exactly ``units`` unit weights and falls to 0
    half a unit away; ``quiet`` is 1 for noise-free windows and falls to 0 when the
    windows' spread reaches one unit weight. The confidence is their product, to 3 places.
    """
    if units < 1 or not unit_weight_g > 0:
        return 0.0
    x = abs(weight_delta_g) / unit_weight_g
    closeness = max(0.0, 1.0 - abs(x - units) / 0.5)
    quiet = max(0.0, 1.0 - max(0.0, noise_g) / unit_weight_g)
    return round(min(1.0, closeness * quiet), 3)


def _fits(units: int, step: LaneStep) -> bool:
    """Whether a change can be a ``LaneChange`` at all (its bounds in the contract)."""
    return (
        units <= _MAX_UNITS
        and step.units_after <= _MAX_UNITS_AFTER
        and abs(step.weight_delta_g) <= _MAX_DELTA_G
    )


class LaneEstimator:
    def __init__(self, lane: LaneConfig, stability: StabilityConfig) -> None:
        self.lane = lane
        self.cfg = stability
        self._window: deque[tuple[int, float]] = deque()
        self.offset_g = lane.tare_g
        self._last_units: int | None = None
        self._last_gross: float | None = None
        self._last_emit_ns = 0
        #: the last settled state: (units, net mean g, window spread g)
        self.settled: tuple[int, float, float] | None = None
        self.unstable = 0
        self.implausible = 0

    @property
    def counts_units(self) -> bool:
        return self.lane.unit_weight_g is not None

    @property
    def units(self) -> int | None:
        """The last emitted units count, or None (no unit weight, or not settled yet)."""
        return self._last_units

    def net(self, gross_g: float) -> float:
        return gross_g - self.offset_g

    def after_tare(self, keep: bool) -> float:
        """The device zeroed the lane: move the offset (see the module doc); return it."""
        window = self._window
        gross = sum(w for _, w in window) / len(window) if window else self._last_gross
        if keep and gross is not None:
            self.offset_g = self.offset_g - gross
        else:
            self.offset_g = 0.0
        window.clear()  # samples from before the tare are on the old zero
        return self.offset_g

    def add(self, ts_ns: int, gross_g: float) -> int | None:
        """Add one sample; the units to emit at ``ts_ns``, or None."""
        return self.step(ts_ns, gross_g).units

    def step(self, ts_ns: int, gross_g: float) -> LaneUpdate:
        """Add one sample; the units to emit and the settled change it completes, if any."""
        self._last_gross = gross_g
        unit = self.lane.unit_weight_g
        window = self._window
        window.append((ts_ns, gross_g))
        horizon = ts_ns - int(self.cfg.window_s * 1e9)
        while len(window) > 1 and window[1][0] <= horizon:
            window.popleft()
        if unit is None or len(window) < 3 or window[0][0] > horizon:
            return LaneUpdate()
        values = [w for _, w in window]
        spread = max(values) - min(values)
        if spread > self.cfg.tolerance_g:
            self.unstable += 1
            return LaneUpdate()
        mean = self.net(sum(values) / len(values))
        x = mean / unit
        units = max(0, round(x))
        if x > -self.cfg.max_residual and abs(x - round(x)) > self.cfg.max_residual:
            self.implausible += 1
            return LaneUpdate()
        step = None
        if self.settled is not None and self.settled[0] != units:
            before, before_mean, before_spread = self.settled
            step = LaneStep(before, units, mean - before_mean, max(spread, before_spread))
        self.settled = (units, mean, spread)
        if units == self._last_units and ts_ns - self._last_emit_ns < self.cfg.heartbeat_s * 1e9:
            return LaneUpdate(None, step)
        self._last_units = units
        self._last_emit_ns = ts_ns
        return LaneUpdate(units, step)


@dataclass(slots=True)
class _Shelf:
    lanes: list[LaneEstimator]
    names: list[str] = field(default_factory=list)


class LaneInterpreter:
    """Every shelf device's lanes, configured alike (lane n takes ``lanes[n - 1]``)."""

    def __init__(self, lanes: tuple[LaneConfig, ...] = (), stability: StabilityConfig | None = None) -> None:
        self.lane_configs = lanes
        self.stability = stability or StabilityConfig()
        self._shelves: dict[str, _Shelf] = {}
        self._offsets: dict[str, dict[int, float]] = {}  # moved by tares: the snapshot
        self._counts: Counter[str] = Counter()

    # -- the interpreter interface ------------------------------------------------------

    def observe(self, observation: Observation) -> Interpretation:
        match observation:
            case ChannelSample():
                return self._sample(observation)
            case DeviceAttached():
                self._attach(observation)
                return Interpretation()
            case Tared():
                return self._tared(observation)
        return Interpretation()  # tags and ticks are not a shelf's

    def counters(self) -> Mapping[str, int]:
        out = Counter(self._counts)
        for shelf in self._shelves.values():
            out["lane_unstable"] += sum(lane.unstable for lane in shelf.lanes)
            out["lane_implausible"] += sum(lane.implausible for lane in shelf.lanes)
        return {
            key: out[key]
            for key in ("lane_unstable", "lane_implausible", "lane_unattached", "lane_change_out_of_range")
        }

    def snapshot(self) -> JsonState:
        return {
            device: {str(n): offset for n, offset in sorted(lanes.items())}
            for device, lanes in sorted(self._offsets.items())
        }

    def restore(self, state: JsonState) -> None:
        offsets: dict[str, dict[int, float]] = {}
        try:
            for device, lanes in dict(state).items():
                offsets[str(device)] = {int(k): float(v) for k, v in dict(lanes).items()}
        except (TypeError, ValueError) as exc:
            raise InterpreterStateError(f"lane offsets are malformed: {exc}") from exc
        bad = [
            (d, n) for d, lanes in offsets.items() for n, v in lanes.items() if n < 1 or not math.isfinite(v)
        ]
        if bad:
            raise InterpreterStateError(f"lane offsets hold a bad lane number or offset: {bad}")
        self._offsets = offsets
        for device, shelf in self._shelves.items():
            for n, offset in offsets.get(device, {}).items():
                if n <= len(shelf.lanes):
                    shelf.lanes[n - 1].offset_g = offset

    # -- queries for commands -----------------------------------------------------------

    def lanes(self, device: str) -> list[LaneEstimator]:
        """The lanes of ``device`` (lane n is ``lanes(device)[n - 1]``); empty if unknown."""
        shelf = self._shelves.get(device)
        return list(shelf.lanes) if shelf else []

    def offsets(self, device: str) -> dict[int, float]:
        """The offsets a tare moved on ``device`` (lane n → grams)."""
        return dict(self._offsets.get(device, {}))

    # -- internals ----------------------------------------------------------------------

    def _attach(self, attached: DeviceAttached) -> None:
        n = len(attached.channels)
        cfgs = self.lane_configs
        lanes = [LaneEstimator(cfgs[i] if i < len(cfgs) else LaneConfig(), self.stability) for i in range(n)]
        for lane, offset in self._offsets.get(attached.device, {}).items():
            if 1 <= lane <= n:
                lanes[lane - 1].offset_g = offset
        old = self._shelves.get(attached.device)
        if old is not None:
            self._counts["lane_unstable"] += sum(lane.unstable for lane in old.lanes)
            self._counts["lane_implausible"] += sum(lane.implausible for lane in old.lanes)
            if len(old.lanes) == n:  # the same shelf again: a change while away is still a change
                for new, before in zip(lanes, old.lanes, strict=True):
                    new.settled = before.settled
        names = [lane_device(attached.device, i + 1) for i in range(n)]
        self._shelves[attached.device] = _Shelf(lanes, names)

    def _sample(self, sample: ChannelSample) -> Interpretation:
        out = Interpretation()
        shelf = self._shelves.get(sample.device)
        if shelf is None or not 0 <= sample.channel < len(shelf.lanes):
            self._counts["lane_unattached"] += 1
            return out
        lane = shelf.lanes[sample.channel]
        name = shelf.names[sample.channel]
        out.readings.append(Reading(name, "weight_g", sample.ts, lane.net(sample.value)))
        update = lane.step(sample.ts, sample.value)
        if update.units is not None:
            out.readings.append(Reading(name, "units", sample.ts, float(update.units)))
        step = update.step
        if step is not None and lane.lane.unit_weight_g is not None:
            units = abs(step.units_after - step.units_before)
            if not _fits(units, step):
                self._counts["lane_change_out_of_range"] += 1
                return out
            change = LaneChange(
                lane=name,
                units=units,
                confidence=change_confidence(
                    step.weight_delta_g, units, lane.lane.unit_weight_g, step.noise_g
                ),
                weight_delta_g=round(step.weight_delta_g, 3),
                units_after=step.units_after,
            )
            kind = "shelf.pick" if step.units_after < step.units_before else "shelf.putback"
            out.events.append(Event(sample.device, kind, sample.ts, change))
        return out

    def _tared(self, tared: Tared) -> Interpretation:
        shelf = self._shelves.get(tared.device)
        if shelf is None:
            return Interpretation()
        for i in tared.channels:
            if 0 <= i < len(shelf.lanes):
                offset = shelf.lanes[i].after_tare(tared.keep)
                self._offsets.setdefault(tared.device, {})[i + 1] = offset
        return Interpretation(state_changed=True)
