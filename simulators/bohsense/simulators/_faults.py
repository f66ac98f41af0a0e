"""Faults in simulated time: equipment faults that grow to failure, and sensor faults.

An equipment fault (``FaultSpec``) starts at ``onset_s`` with a small severity and grows
to 1 (functional failure: the machine must stop) at ``failure_s``, exponentially (the
usual shape of bearing wear: slow for a long time, fast at the end) or linearly.

A sensor fault (``SensorFault``) is the sensor lying, not the machine failing, between
``onset_s`` and ``end_s``: ``stuck`` (the value freezes), ``spikes`` (short impossible
excursions), ``dropout`` (nothing is sent), ``drift`` (a slowly growing offset) and
``clipping`` (the signal saturates at the converter's limits). ``SensorFaults`` applies
them to scalar values and to waveform counts, with its own seeded randomness.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "GROWTHS",
    "SENSOR_FAULTS",
    "FaultSpec",
    "SensorFault",
    "SensorFaults",
]

GROWTHS = ("exponential", "linear")
SENSOR_FAULTS = ("stuck", "spikes", "dropout", "drift", "clipping")
#: severity at onset for exponential growth (it reaches 1 at failure)
ONSET_SEVERITY = 0.05
INT16_MAX = 32767


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """An equipment fault: ``kind`` from ``onset_s`` to functional failure at ``failure_s``."""

    kind: str
    onset_s: float
    failure_s: float
    growth: str = "exponential"

    def __post_init__(self) -> None:
        if self.growth not in GROWTHS:
            raise ValueError(f"growth {self.growth!r} is not one of {GROWTHS}")
        if (
            not (math.isfinite(self.onset_s) and math.isfinite(self.failure_s))
            or self.failure_s <= self.onset_s
        ):
            raise ValueError(
                f"fault {self.kind}: failure ({self.failure_s} s) must come after onset ({self.onset_s} s)"
            )

    def severity(self, t_s: float) -> float:
        """0 before onset, growing to 1 at failure, 1 after it."""
        if t_s < self.onset_s:
            return 0.0
        if t_s >= self.failure_s:
            return 1.0
        x = (t_s - self.onset_s) / (self.failure_s - self.onset_s)
        if self.growth == "linear":
            return ONSET_SEVERITY + (1 - ONSET_SEVERITY) * x
        return float(ONSET_SEVERITY ** (1.0 - x))


@dataclass(frozen=True, slots=True)
class SensorFault:
    """The sensor's ``channel`` (``vibration``, ``temperature`` or ``all``) lies from ``onset_s``
    to ``end_s``. ``magnitude``: spikes, g or K; drift, K (or g) per day; clipping, the level
    (g or °C) it saturates at."""

    kind: str
    onset_s: float
    end_s: float = math.inf
    channel: str = "all"
    magnitude: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in SENSOR_FAULTS:
            raise ValueError(f"sensor fault {self.kind!r} is not one of {SENSOR_FAULTS}")
        if self.channel not in ("vibration", "temperature", "all"):
            raise ValueError(f"sensor fault channel {self.channel!r} is not vibration, temperature or all")
        if not self.end_s > self.onset_s:
            raise ValueError(
                f"sensor fault {self.kind}: end ({self.end_s}) must come after onset ({self.onset_s})"
            )

    def active(self, t_s: float, channel: str) -> bool:
        return self.onset_s <= t_s < self.end_s and self.channel in (channel, "all")

    def size(self, default: float) -> float:
        return default if self.magnitude is None else self.magnitude


class SensorFaults:
    """Applies sensor faults to what a sensor measures; keeps what ``stuck`` needs to freeze."""

    def __init__(self, faults: Sequence[SensorFault], seed: int) -> None:
        self.faults = tuple(faults)
        self._seed = seed
        self._last: dict[str, float] = {}
        self._frozen: dict[tuple[int, str], object] = {}

    def _rng(self, *parts: int) -> np.random.Generator:
        return np.random.default_rng([self._seed & 0xFFFFFFFF, *parts])

    def scalar(self, t_s: float, channel: str, value: float, key: str = "") -> float | None:
        """The value a sensor reports for true ``value`` at ``t_s`` (None: nothing is sent)."""
        name = f"{channel}:{key}"
        out = value
        for i, fault in enumerate(self.faults):
            if not fault.active(t_s, channel):
                continue
            match fault.kind:
                case "dropout":
                    return None
                case "stuck":
                    frozen = self._frozen.setdefault((i, name), self._last.get(name, out))
                    assert isinstance(frozen, float)
                    out = frozen
                case "drift":
                    out += fault.size(0.5) * (t_s - fault.onset_s) / 86_400.0
                case "spikes":
                    rng = self._rng(i, int(t_s * 1000) & 0xFFFFFFFF)
                    if rng.random() < 0.05:
                        out += fault.size(40.0) * (1 if rng.random() < 0.5 else -1)
                case "clipping":
                    out = min(out, fault.size(10.0))
        if not any(f.kind == "stuck" and f.active(t_s, channel) for f in self.faults):
            self._last[name] = value
        return out

    def block(
        self, t_s: float, axis: str, g: npt.NDArray[np.float64], scale_g: float
    ) -> tuple[npt.NDArray[np.int16], float] | None:
        """Int16 counts and the scale the sensor reports for true acceleration ``g`` (None: dropout)."""
        x = np.array(g, dtype=np.float64)
        scale = scale_g
        for i, fault in enumerate(self.faults):
            if not fault.active(t_s, "vibration"):
                continue
            match fault.kind:
                case "dropout":
                    return None
                case "stuck":
                    frozen = self._frozen.setdefault((i, axis), float(x[0]))
                    assert isinstance(frozen, float)
                    x[:] = frozen
                case "drift":  # bias drift of the accelerometer
                    x += fault.size(0.05) * (t_s - fault.onset_s) / 86_400.0
                case "spikes":
                    rng = self._rng(i, int(t_s * 1000) & 0xFFFFFFFF, ord(axis))
                    where = rng.integers(0, len(x), 5)
                    x[where] += fault.size(8.0) * rng.choice([-1.0, 1.0], 5)
                case "clipping":  # a range set far too small: the converter saturates
                    scale = fault.size(0.1) / INT16_MAX
        counts = np.clip(np.rint(x / scale), -INT16_MAX - 1, INT16_MAX).astype(np.int16)
        return counts, scale
