"""A synthetic device driver: deterministic readings at a steady rate, no hardware.

Used by load tests, benchmarks and the outage tests. Options (one ``[[devices]]`` table)::

    devices   int   > 0     number of simulated devices, named "{name}-{i}" (i = 0…)
    metrics   [str]         metric names, default ["value"]
    rate_hz   float > 0     readings per second of every (device, metric) series
    seed      int           phase of the sine waveform (default 0)
    waveform  str           "counter" (default) or "sine"
    limit     int   >= 0    stop after this many ticks (0: run until cancelled)

Time runs on a fixed grid: tick ``k`` is at ``k / rate_hz`` seconds since the Unix epoch,
and every series gets one reading per tick with ``ts`` exactly on the grid. Timestamps
therefore grow strictly per series, also across restarts of the process, and the value
of every reading is a function of its ``ts`` alone (``counter``: the tick number ``k``;
``sine``: ``sin(2πk/64 + seed + i)``) — so the expected readings of any time span are
computable from the timestamps received. When the loop falls behind it catches up with
the missed ticks instead of skipping them. ``stats()["readings"]`` counts exactly the
readings handed to the sink.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bohsense.contracts.schema import Reading
from bohsense.edge.drivers.base import DriverError, NoCommands, Sink

__all__ = ["SyntheticDriver", "expected_value"]

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/-")


def expected_value(waveform: str, k: int, seed: int, device_index: int) -> float:
    """The value every synthetic series has at grid tick ``k``."""
    if waveform == "counter":
        return float(k)
    return math.sin(2 * math.pi * k / 64 + seed + device_index)


class SyntheticDriver(NoCommands):
    def __init__(
        self,
        name: str,
        *,
        devices: int,
        metrics: list[str],
        rate_hz: float,
        seed: int = 0,
        waveform: str = "counter",
        limit: int = 0,
    ) -> None:
        self.name = name
        self.devices = [f"{name}-{i}" for i in range(devices)]
        self.metrics = list(metrics)
        self.rate_hz = rate_hz
        self.period_ns = max(1, round(1e9 / rate_hz))
        self.seed = seed
        self.waveform = waveform
        self.limit = limit
        self._readings = 0
        self._ticks = 0
        self._catchups = 0

    @classmethod
    def from_options(
        cls, name: str, options: Mapping[str, Any], *, state_dir: Path | None = None
    ) -> SyntheticDriver:
        known = {"devices", "metrics", "rate_hz", "seed", "waveform", "limit"}
        unknown = set(options) - known
        if unknown:
            raise DriverError(
                f"device {name!r}: unknown synthetic option(s) {sorted(unknown)} (known: {sorted(known)})"
            )
        devices = options.get("devices", 1)
        if not isinstance(devices, int) or isinstance(devices, bool) or devices < 1:
            raise DriverError(f"device {name!r}: 'devices' must be an integer >= 1, not {devices!r}")
        metrics = options.get("metrics", ["value"])
        if (
            not isinstance(metrics, list)
            or not metrics
            or not all(isinstance(m, str) and m and set(m) <= _NAME_CHARS for m in metrics)
        ):
            raise DriverError(
                f"device {name!r}: 'metrics' must be a non-empty list of metric names, not {metrics!r}"
            )
        rate = options.get("rate_hz", 1.0)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 100_000:
            raise DriverError(f"device {name!r}: 'rate_hz' must be a number in (0, 100000], not {rate!r}")
        seed = options.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise DriverError(f"device {name!r}: 'seed' must be an integer, not {seed!r}")
        waveform = options.get("waveform", "counter")
        if waveform not in ("counter", "sine"):
            raise DriverError(f"device {name!r}: 'waveform' must be 'counter' or 'sine', not {waveform!r}")
        limit = options.get("limit", 0)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise DriverError(f"device {name!r}: 'limit' must be an integer >= 0, not {limit!r}")
        return cls(
            name,
            devices=devices,
            metrics=metrics,
            rate_hz=float(rate),
            seed=seed,
            waveform=waveform,
            limit=limit,
        )

    def readings_at(self, k: int) -> list[Reading]:
        """The readings of grid tick ``k``, in the order the driver emits them."""
        ts = k * self.period_ns
        return [
            Reading(device, metric, ts, expected_value(self.waveform, k, self.seed, i))
            for i, device in enumerate(self.devices)
            for metric in self.metrics
        ]

    async def run(self, sink: Sink) -> None:
        k = time.time_ns() // self.period_ns + 1
        while self.limit == 0 or self._ticks < self.limit:
            delay = (k * self.period_ns - time.time_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            now_k = time.time_ns() // self.period_ns
            if now_k > k:
                self._catchups += 1
            while k <= now_k and (self.limit == 0 or self._ticks < self.limit):
                for reading in self.readings_at(k):
                    sink.put(reading)
                    self._readings += 1
                self._ticks += 1
                k += 1
        await asyncio.Event().wait()  # limit reached: idle until cancelled

    def stats(self) -> Mapping[str, int]:
        return {"readings": self._readings, "ticks": self._ticks, "catchups": self._catchups}
