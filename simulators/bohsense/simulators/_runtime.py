"""``DeviceRuntime``: what every simulated device has, whatever its protocol or transport.

A scheduler of scripted actions (``schedule(at_s, action)``), the device's own clock
(boot offset, drift, adjustments from time sync), pause/resume, and ground truth — the
record of what the device really did, that tests and the demo score the system against.

It does no I/O and reads time only through the two clocks it is given (monotonic
seconds, and UTC nanoseconds), so a test can drive a device with a fake clock and a
front end (a pseudo-terminal today, a TCP socket for an LLRP reader) only moves bytes
and calls ``advance(now)``.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["Clock", "DeviceRuntime"]


class Clock:
    """The host's clocks: monotonic seconds and UTC nanoseconds (replaceable in tests)."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall_ns(self) -> int:
        return time.time_ns()


class DeviceRuntime:
    """Scheduler, device clock and ground truth of one simulated device."""

    def __init__(
        self,
        device_id: str,
        *,
        clock_offset_s: float | None = None,
        clock_drift_ppm: float = 0.0,
        clock: Clock | None = None,
    ) -> None:
        """``clock_offset_s`` None: the device clock starts unsynced at 0 µs since boot.

        A number: the device boots with a (battery-backed) UTC clock that is off by that
        many seconds and already reports synced times, the skew the gateway must find.
        """
        self.device_id = device_id
        self.host = clock or Clock()
        self._drift = clock_drift_ppm * 1e-6
        self._offset_s = clock_offset_s
        self._lock = threading.RLock()
        self._paused = threading.Event()
        self._boot = self.host.monotonic()
        self._clock_base_us = self._base_us()
        self._clock_adjust_us = 0
        self._synced = clock_offset_s is not None
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_seq = 0
        self.events: list[dict[str, Any]] = []

    def boot(self) -> None:
        """Power on: the time base of ``elapsed()`` and of the device clock starts now."""
        self._boot = self.host.monotonic()
        self._clock_base_us = self._base_us()

    def _restart_clock(self, mono: float) -> None:
        """The device clock restarts at ``mono`` (a reboot): 0 µs since boot and unsynced,
        or, battery-backed, the UTC clock it had at boot (with its offset) and synced."""
        run_us = int(self.elapsed(mono) * 1e6 * (1.0 + self._drift))
        self._clock_base_us = (self._base_us() if self._offset_s is not None else 0) - run_us
        self._clock_adjust_us = 0
        self._synced = self._offset_s is not None

    def _base_us(self) -> int:
        if self._offset_s is None:
            return 0
        return int((self.host.wall_ns() / 1e9 + self._offset_s) * 1e6)

    # -- time -------------------------------------------------------------------------

    def elapsed(self, mono: float | None = None) -> float:
        """Seconds since boot: the time base of scripted events (``at=…``)."""
        return (self.host.monotonic() if mono is None else mono) - self._boot

    def clock_us(self, mono: float | None = None) -> int:
        """The device's own clock in µs at host monotonic time ``mono`` (default: now)."""
        return (
            self._clock_base_us + int(self.elapsed(mono) * 1e6 * (1.0 + self._drift)) + self._clock_adjust_us
        )

    def adjust_clock(self, adjust_us: int) -> None:
        """Step the device clock (a time-sync correction); it reports synced times from now."""
        self._clock_adjust_us += adjust_us
        self._synced = True
        self.record({"kind": "clock-set", "adjust_us": adjust_us})

    @property
    def synced(self) -> bool:
        return self._synced

    # -- scheduler --------------------------------------------------------------------

    def schedule(self, at_s: float, action: Callable[[], None]) -> None:
        """Run ``action`` at ``at_s`` seconds after boot (from the device's own loop)."""
        with self._lock:
            self._timer_seq += 1
            heapq.heappush(self._timers, (at_s, self._timer_seq, action))

    def next_timer(self) -> float | None:
        """Host monotonic time of the next scheduled action, if any."""
        with self._lock:
            return self._boot + self._timers[0][0] if self._timers else None

    def fire_due(self, mono: float | None = None) -> None:
        t = self.elapsed(mono)
        while True:
            with self._lock:
                if not self._timers or self._timers[0][0] > t:
                    return
                _, _, action = heapq.heappop(self._timers)
            action()

    def pause(self) -> None:
        """Stop producing data (the device still answers its host)."""
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    # -- ground truth -----------------------------------------------------------------

    def record(self, event: dict[str, Any]) -> None:
        """Append a ground-truth event stamped with boot-relative and UTC time."""
        event = {"t_s": round(self.elapsed(), 6), "wall_ns": self.host.wall_ns(), **event}
        with self._lock:
            self.events.append(event)

    def model_truth(self) -> dict[str, Any]:
        """The physics' own truth (units per lane, fault severity); subclasses add to it."""
        return {}

    def ground_truth(self) -> dict[str, Any]:
        with self._lock:
            return {"device_id": self.device_id, "events": list(self.events), **self.model_truth()}

    def dump_ground_truth(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.ground_truth(), indent=2, sort_keys=True))
