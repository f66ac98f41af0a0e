"""Threshold with minimum duration and hysteresis, in event time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from typing import Any

from ._base import ConditionEvent, ConditionParams, ConditionState, FaultCleared, FaultConfirmed

__all__ = ["ThresholdCondition"]

NS = 1_000_000_000


class ThresholdCondition:
    """``ConditionEngine``: a fault is the metric above ``limit`` at every reading for at least
    ``min_duration_s`` of event time (a shorter spike is ignored); it clears only after the
    metric stays below ``clear_below`` for ``min_duration_s``. Points not newer than the last
    one seen are ignored (backfilled readings never rewind the rule)."""

    def load_state(self, data: dict[str, Any] | None) -> ConditionState:
        if not data:
            return ConditionState()
        known = {f.name for f in fields(ConditionState)}
        return ConditionState(**{k: v for k, v in data.items() if k in known})

    def dump_state(self, state: ConditionState) -> dict[str, Any]:
        return asdict(state)

    def phase(self, state: ConditionState) -> str:
        return state.phase

    def step(
        self, params: ConditionParams, state: ConditionState, points: Sequence[tuple[int, float]]
    ) -> tuple[ConditionState, list[ConditionEvent]]:
        events: list[ConditionEvent] = []
        need = int(params.min_duration_s * NS)
        phase, over, peak, below, last = (
            state.phase,
            state.over_since_ns,
            state.max_value,
            state.below_since_ns,
            state.last_ts_ns,
        )
        for ts, value in points:
            if last is not None and ts <= last:
                continue
            last = ts
            if phase in ("normal", "over"):
                if value > params.limit:
                    if phase == "normal":
                        phase, over, peak = "over", ts, value
                    else:
                        peak = value if peak is None else max(peak, value)
                    assert over is not None
                    if ts - over >= need:
                        phase = "fault"
                        events.append(
                            FaultConfirmed(
                                ts, _evidence(params, over, ts, peak), params.severity, _subject(params)
                            )
                        )
                else:
                    phase, over, peak = "normal", None, None
            elif value < params.clear_below:  # fault or clearing, value is low
                if phase == "fault":
                    phase, below = "clearing", ts
                assert below is not None
                if ts - below >= need:
                    evidence = {"below_since_ns": below, "clear_below": params.clear_below}
                    events.append(FaultCleared(ts, evidence, params.severity, _subject(params)))
                    phase, over, peak, below = "normal", None, None, None
            else:  # fault or clearing, value not low enough: still a fault
                phase, below = "fault", None
                peak = value if peak is None else max(peak, value)
        new = replace(
            state, phase=phase, over_since_ns=over, max_value=peak, below_since_ns=below, last_ts_ns=last
        )
        return new, events


def _evidence(params: ConditionParams, over: int, ts: int, peak: float | None) -> dict[str, object]:
    return {
        "metric": params.metric,
        "limit": params.limit,
        "first_over_ns": over,
        "confirmed_ns": ts,
        "duration_s": (ts - over) / NS,
        "min_duration_s": params.min_duration_s,
        "max_value": peak,
        "clear_below": params.clear_below,
    }


def _subject(params: ConditionParams) -> str:
    return f"{params.asset_id}/{params.condition}"
