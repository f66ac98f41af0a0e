"""Shelf lane offsets moved by a TARE, kept across gateway restarts.

A TARE the device acknowledged changes the device's zero for good (the device keeps it,
see firmware_bridge/PROTOCOL.md), so the offset the gateway subtracts from that lane
must change for good too, or the configured ``tare_g`` would be applied again after a
restart and the lane would read phantom stock. One small JSON file per driver, next to
the outbox (``lanes-<driver>.json``)::

    {"<device id>": {"<lane n>": <offset g>, …}, …}

written atomically (temporary file, fsync, rename). Without a state directory (a driver
built by a test or a tool) the offsets live in memory only.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from bohsense.edge.drivers.base import DriverError

__all__ = ["LaneBaselines"]


class LaneBaselines:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._offsets: dict[str, dict[int, float]] = {}
        self._loaded = path is None

    def load(self) -> None:
        """Read the file (once); a file that exists but cannot be read is a ``DriverError``:
        counting from the wrong zero would report wrong stock."""
        if self._loaded or self.path is None:
            return
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raw = {}
        except (OSError, ValueError) as exc:
            raise DriverError(f"lane baselines {str(self.path)!r} cannot be read: {exc}") from exc
        offsets: dict[str, dict[int, float]] = {}
        try:
            for device, lanes in dict(raw).items():
                offsets[str(device)] = {int(k): float(v) for k, v in dict(lanes).items()}
        except (TypeError, ValueError) as exc:
            raise DriverError(f"lane baselines {str(self.path)!r} are malformed: {exc}") from exc
        if not all(math.isfinite(v) for lanes in offsets.values() for v in lanes.values()):
            raise DriverError(f"lane baselines {str(self.path)!r} hold a non-finite offset")
        self._offsets = offsets
        self._loaded = True

    def of(self, device: str) -> dict[int, float]:
        """The stored offsets of ``device``'s lanes (lane number from 1 → grams)."""
        return dict(self._offsets.get(device, {}))

    def set(self, device: str, lane: int, offset_g: float) -> None:
        self._offsets.setdefault(device, {})[lane] = offset_g
        if self.path is None:
            return
        data = {
            d: {str(n): v for n, v in sorted(lanes.items())} for d, lanes in sorted(self._offsets.items())
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
