"""Shelf lanes: load-cell samples → ``weight_g`` and ``units`` readings, pick / put-back /
restock events and lane states.

Every sample of a lane becomes a ``weight_g`` reading of the lane device
(``<device>.lane-<n>``): the device's value minus the lane's offset. A lane's units are
``round((weight - tare) / unit_weight)``, computed from the mean of a window of samples
and *settled* only when

- the window covers ``window_s`` of device time (at least 3 samples), and
- every sample in it lies within ``tolerance_g`` of every other (max − min), so the
  ringing after a pick, a hand pressing or resting on the lane are not counted, and
- the mean is a whole number of units within the lane's tolerance, which grows with the
  count for the SKU's unit-weight spread and is capped at ``max_residual`` (a basket or
  a hand that happens to hold still adds a weight that is rarely a whole number of
  units), and the change from the last count is a whole number of units too.

What a window shows, the lane's condition (``stable``, ``settling``, ``unfit``,
``fault``: a dead, stuck or out-of-range cell, a lost device) and the tolerances are the
estimator's (``_lane_estimator``); this module turns them into readings and events:

A settled count is emitted as a ``units`` reading when it differs from the last one
emitted, or when ``heartbeat_s`` has passed since (so a consumer sees the lane is alive).

When the settled count differs from the previous settled count, the lane also emits a
``shelf.pick`` (fewer units), ``shelf.putback`` (more, fewer than ``restock_min_units``)
or ``shelf.restock`` (at least ``restock_min_units`` more) event with a ``LaneChange``:
``units`` changed, ``units_after``, ``weight_delta_g`` (settled mean now − settled mean
before) and a ``confidence`` in [0, 1] (``change_confidence``): how close the weight
change is to a whole number of unit weights, discounted by the noise of the two settled
windows. The previous settled count survives a fault, a reconnect or a device reboot with
the same lane layout, so a pick made while the lane was faulty or the gateway away is
still reported once the lane settles again; it does not survive a gateway restart
(nothing is reported then). Each change of a lane's condition is a ``shelf.lane_state``
event (``LaneState``); while a lane is not ``stable`` no ``units`` reading is made.
A lost connection (``DeviceDetached``) puts every lane of the device in ``fault``
(``detached``); a HELLO on a live connection (a reboot) puts its lanes in ``settling``
(``rebooted``) until they settle again. Lanes without a unit weight make ``weight_g``
readings only.
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
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from bohsense.contracts.devices import lane_device
from bohsense.contracts.events import Event, LaneChange, LaneCondition, LaneState
from bohsense.contracts.schema import Reading
from bohsense.edge.interpreters._base import (
    ChannelInvalid,
    ChannelSample,
    DeviceAttached,
    DeviceDetached,
    Interpretation,
    InterpreterStateError,
    JsonState,
    Observation,
    Tared,
)
from bohsense.edge.interpreters._lane_estimator import (
    CONDITION_OF,
    Condition,
    LaneConfig,
    LaneEstimator,
    LaneStateChange,
    LaneStep,
    LaneUpdate,
    Signal,
    StabilityConfig,
    change_confidence,
)

#: the bounds of a ``LaneChange`` (contracts.events); a change beyond them is counted
#: (``lane_change_out_of_range``) instead of becoming an event no cloud would accept
_MAX_UNITS = 100_000
_MAX_UNITS_AFTER = 1_000_000
_MAX_DELTA_G = 1e7

__all__ = [
    "CONDITION_OF",
    "Condition",
    "LaneConfig",
    "LaneEstimator",
    "LaneInterpreter",
    "LaneStateChange",
    "LaneStep",
    "LaneUpdate",
    "Signal",
    "StabilityConfig",
    "change_confidence",
]


_STATES: dict[Condition, LaneCondition] = {
    Condition.STABLE: "stable",
    Condition.SETTLING: "settling",
    Condition.UNFIT: "unfit",
    Condition.FAULT: "fault",
}


def _fits(units: int, step: LaneStep) -> bool:
    """Whether a change can be a ``LaneChange`` at all (its bounds in the contract)."""
    return (
        units <= _MAX_UNITS
        and step.units_after <= _MAX_UNITS_AFTER
        and abs(step.weight_delta_g) <= _MAX_DELTA_G
    )


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
                return self._attach(observation)
            case ChannelInvalid():
                return self._invalid(observation)
            case DeviceDetached():
                return self._detached(observation)
            case Tared():
                return self._tared(observation)
        return Interpretation()  # tags and ticks are not a shelf's

    def counters(self) -> Mapping[str, int]:
        out = Counter(self._counts)
        for shelf in self._shelves.values():
            out["lane_unstable"] += sum(lane.unstable for lane in shelf.lanes)
            out["lane_implausible"] += sum(lane.implausible for lane in shelf.lanes)
            out["lane_faults"] += sum(lane.faults for lane in shelf.lanes)
        return {
            key: out[key]
            for key in (
                "lane_unstable",
                "lane_implausible",
                "lane_faults",
                "lane_unattached",
                "lane_change_out_of_range",
            )
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

    def lane_status(self, device: str) -> list[dict[str, object]]:
        """Each lane of ``device`` as it stands: condition, reason, units, offset, drift."""
        shelf = self._shelves.get(device)
        return [
            {
                "lane": name,
                "condition": None if lane.condition is None else lane.condition.value,
                "reason": lane.reason,
                "units": lane.units,
                "offset_g": round(lane.offset_g, 3),
                "drift_g": round(lane.drift_g, 3),
                "residual_g": round(lane.residual_g, 3),
            }
            for lane, name in (zip(shelf.lanes, shelf.names, strict=True) if shelf else ())
        ]

    def offsets(self, device: str) -> dict[int, float]:
        """The offsets a tare moved on ``device`` (lane n → grams)."""
        return dict(self._offsets.get(device, {}))

    # -- internals ----------------------------------------------------------------------

    def _attach(self, attached: DeviceAttached) -> Interpretation:
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
            self._counts["lane_faults"] += sum(lane.faults for lane in old.lanes)
        names = [lane_device(attached.device, i + 1) for i in range(n)]
        out = Interpretation()
        if old is not None and len(old.lanes) == n:
            # the same shelf again: a change while away is still a change
            for i, (new, before) in enumerate(zip(lanes, old.lanes, strict=True)):
                new.carry_over(before)
                update = new.rebooted(attached.ts) if new.counts_units else LaneUpdate()
                if attached.ts:  # a time to stamp the lane states with
                    self._emit(out, attached.device, names[i], attached.ts, new, update)
        self._shelves[attached.device] = _Shelf(lanes, names)
        return out

    def _sample(self, sample: ChannelSample) -> Interpretation:
        out = Interpretation()
        shelf = self._shelves.get(sample.device)
        if shelf is None or not 0 <= sample.channel < len(shelf.lanes):
            self._counts["lane_unattached"] += 1
            return out
        lane = shelf.lanes[sample.channel]
        name = shelf.names[sample.channel]
        out.readings.append(Reading(name, "weight_g", sample.ts, lane.net(sample.value)))
        self._emit(out, sample.device, name, sample.ts, lane, lane.step(sample.ts, sample.value))
        return out

    def _invalid(self, sample: ChannelInvalid) -> Interpretation:
        out = Interpretation()
        shelf = self._shelves.get(sample.device)
        if shelf is None or not 0 <= sample.channel < len(shelf.lanes):
            self._counts["lane_unattached"] += 1
            return out
        lane = shelf.lanes[sample.channel]
        if lane.counts_units:
            self._emit(
                out, sample.device, shelf.names[sample.channel], sample.ts, lane, lane.invalid(sample.ts)
            )
        return out

    def _detached(self, detached: DeviceDetached) -> Interpretation:
        out = Interpretation()
        shelf = self._shelves.get(detached.device)
        for lane, name in zip(shelf.lanes, shelf.names, strict=True) if shelf else ():
            if lane.counts_units:
                self._emit(out, detached.device, name, detached.ts, lane, lane.detached(detached.ts))
        return out

    def _emit(
        self, out: Interpretation, device: str, name: str, ts: int, lane: LaneEstimator, update: LaneUpdate
    ) -> None:
        if update.units is not None:
            out.readings.append(Reading(name, "units", ts, float(update.units)))
        step = update.step
        unit = lane.lane.unit_weight_g
        if step is not None and unit is not None:
            units = abs(step.units_after - step.units_before)
            if not _fits(units, step):
                self._counts["lane_change_out_of_range"] += 1
            else:
                change = LaneChange(
                    lane=name,
                    units=units,
                    confidence=change_confidence(step.weight_delta_g, units, unit, step.noise_g),
                    weight_delta_g=round(step.weight_delta_g, 3),
                    units_after=step.units_after,
                )
                if step.units_after < step.units_before:
                    kind = "shelf.pick"
                elif units >= lane.cfg.restock_min_units:
                    kind = "shelf.restock"
                else:
                    kind = "shelf.putback"
                out.events.append(Event(device, kind, ts, change))
        state = update.state
        if state is not None:
            weight = state.weight_g
            if weight is not None and not (math.isfinite(weight) and abs(weight) <= 1e7):
                weight = None
            units_now = state.units if state.units is None or state.units <= _MAX_UNITS_AFTER else None
            out.events.append(
                Event(
                    device,
                    "shelf.lane_state",
                    ts,
                    LaneState(
                        lane=name,
                        state=_STATES[state.condition],
                        units=units_now,
                        reason=state.reason,
                        weight_g=weight,
                        confidence=state.confidence,
                    ),
                )
            )

    def _tared(self, tared: Tared) -> Interpretation:
        shelf = self._shelves.get(tared.device)
        if shelf is None:
            return Interpretation()
        for i in tared.channels:
            if 0 <= i < len(shelf.lanes):
                offset = shelf.lanes[i].after_tare(tared.keep)
                self._offsets.setdefault(tared.device, {})[i + 1] = offset
        return Interpretation(state_changed=True)
