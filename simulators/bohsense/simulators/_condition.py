"""An equipment condition sensor: temperature and vibration RMS velocity features.

Healthy: vibration RMS velocity 1–2.5 mm/s (ISO 10816 zone A/B for a small machine)
with noise and a slow duty-cycle wobble; temperature around 38 °C. A scripted fault
ramps in linearly over ``ramp_s`` from ``start_s`` (seconds after device start):

| kind        | RMS velocity at full severity | temperature rise |
|-------------|-------------------------------|------------------|
| bearing     | ~10 mm/s (alarm zone > 7.1)   | +15 °C           |
| imbalance   | ~8 mm/s                       | +3 °C            |
| overheating | unchanged                     | +30 °C           |
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from bohsense.firmware_bridge import DeviceKind
from bohsense.simulators._pty import PtyDevice

__all__ = ["FAULT_KINDS", "ConditionDevice"]

#: kind -> (added RMS mm/s, added °C) at full severity
FAULT_KINDS: dict[str, tuple[float, float]] = {
    "bearing": (8.0, 15.0),
    "imbalance": (6.0, 3.0),
    "overheating": (0.0, 30.0),
}


@dataclass(frozen=True, slots=True)
class _Fault:
    kind: str
    start_s: float
    ramp_s: float

    def severity(self, t: float) -> float:
        if t < self.start_s:
            return 0.0
        if self.ramp_s <= 0:
            return 1.0
        return min(1.0, (t - self.start_s) / self.ramp_s)


class ConditionDevice(PtyDevice):
    kind = DeviceKind.CONDITION

    def __init__(
        self,
        device_id: str = "sensor-1",
        *,
        seed: int = 0,
        base_rms_mm_s: float = 1.8,
        base_temp_c: float = 38.0,
        rate_hz: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(device_id, rate_hz=rate_hz, **kwargs)
        self._rng = random.Random(seed)
        self.base_rms = base_rms_mm_s
        self.base_temp = base_temp_c
        self._faults: list[_Fault] = []

    def channel_names(self) -> tuple[str, ...]:
        return ("temp_c", "vib_rms_mm_s")

    def inject_fault(self, kind: str = "bearing", start_s: float | None = None, ramp_s: float = 30.0) -> None:
        """Start a fault of ``kind`` at ``start_s`` s after start (default now), full after ``ramp_s``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (known: {', '.join(FAULT_KINDS)})")
        start = self.elapsed() if start_s is None else start_s
        fault = _Fault(kind, start, ramp_s)
        with self._lock:
            self._faults.append(fault)
        self.schedule(start, lambda: self.record({"kind": "fault", "fault": kind, "ramp_s": ramp_s}))

    def clear_faults(self) -> None:
        """The repair: the machine is healthy again from now on."""
        with self._lock:
            self._faults.clear()
        self.record({"kind": "repair"})

    def severity(self, t_s: float) -> dict[str, float]:
        with self._lock:
            return {f.kind: f.severity(t_s) for f in self._faults}

    def sample_values(self, t_s: float) -> tuple[float, ...]:
        rms = self.base_rms * (1.0 + 0.15 * math.sin(2 * math.pi * t_s / 60.0)) + self._rng.gauss(0.0, 0.12)
        temp = self.base_temp + 0.6 * math.sin(2 * math.pi * t_s / 600.0) + self._rng.gauss(0.0, 0.05)
        for fault in self._faults:
            severity = fault.severity(t_s)
            add_rms, add_temp = FAULT_KINDS[fault.kind]
            rms += severity * add_rms * (1.0 + self._rng.gauss(0.0, 0.05))
            temp += severity * add_temp
        return (round(temp, 3), max(0.05, rms))

    def model_truth(self) -> dict[str, Any]:
        return {
            "faults": [{"kind": f.kind, "start_s": f.start_s, "ramp_s": f.ramp_s} for f in self._faults],
        }
