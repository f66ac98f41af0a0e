"""The detector contract, the shared serialisation of detector state, and decisions.

A detector is fed one observation at a time, a mapping of feature name to value:

* ``score_one(x)`` returns an anomaly score in [0, 1] (higher is more anomalous) and
  never changes the detector;
* ``learn_one(x)`` updates the detector with ``x``; a streaming caller scores first,
  then learns, so a score depends only on that observation and the ones before it;
* ``to_state()`` / ``from_state()`` turn the whole detector (parameters and learnt
  state) into a JSON-compatible dict and back, so a store can keep it as opaque bytes
  (:func:`dumps` / :func:`loads`).

A non-finite value (NaN, ±inf), a value beyond ±1e300, or a missing feature is a
sensor fault, not an input error: it scores :data:`SENSOR_FAULT` (1.0) and is not
learnt, so it cannot corrupt the state.

What counts as an alarm is not the detector's business: :class:`Threshold` turns scores
into decisions (with hysteresis), and belongs to the alerting policy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from bohsense.models.errors import ModelsError

__all__ = [
    "SENSOR_FAULT",
    "Detector",
    "Features",
    "StateError",
    "Threshold",
    "detector_kinds",
    "dumps",
    "from_state",
    "loads",
    "register",
]

Features = Mapping[str, float]
SENSOR_FAULT = 1.0


class StateError(ModelsError, ValueError):
    """Serialised detector state that cannot be restored (unknown kind, bad fields)."""


@runtime_checkable
class Detector(Protocol):
    kind: ClassVar[str]

    def learn_one(self, x: Features) -> None:
        """Update the model with one observation."""

    def score_one(self, x: Features) -> float:
        """Anomaly score of one observation in [0, 1]; does not change the detector."""

    def to_state(self) -> dict[str, Any]:
        """Parameters and learnt state as a JSON-compatible dict (with ``kind``)."""


_KINDS: dict[str, Callable[[dict[str, Any]], Detector]] = {}


def register(kind: str, restore: Callable[[dict[str, Any]], Detector]) -> None:
    _KINDS[kind] = restore


def detector_kinds() -> list[str]:
    return sorted(_KINDS)


def from_state(state: Mapping[str, Any]) -> Detector:
    kind = state.get("kind") if isinstance(state, Mapping) else None
    if kind not in _KINDS:
        raise StateError(f"unknown detector kind {kind!r} (known: {', '.join(detector_kinds())})")
    try:
        return _KINDS[kind](dict(state))
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"bad state for detector {kind!r}: {exc}") from exc


def dumps(detector: Detector) -> bytes:
    """Strict JSON bytes (no NaN) of a detector's state."""
    return json.dumps(detector.to_state(), allow_nan=False, separators=(",", ":")).encode()


def loads(data: bytes) -> Detector:
    try:
        state = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"detector state is not JSON: {exc}") from exc
    return from_state(state)


MAX_MAGNITUDE = 1e300  # beyond it differences and sums of values could overflow


def finite(x: Features, key: str) -> float | None:
    """The value of ``key`` if present, finite and within ±1e300, else None (a sensor
    fault: no sensor reports more, and the arithmetic on it stays finite)."""
    v = x.get(key)
    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and abs(v) <= MAX_MAGNITUDE else None


@dataclass(slots=True)
class Threshold:
    """Scores to decisions with hysteresis: raised at ``on``, cleared below ``off``."""

    on: float = 0.5
    off: float = 0.3
    active: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.off <= self.on <= 1.0:
            raise ValueError(f"need 0 <= off <= on <= 1, got off={self.off} on={self.on}")

    def decide(self, score: float) -> bool:
        if self.active:
            self.active = score >= self.off
        else:
            self.active = score >= self.on
        return self.active
