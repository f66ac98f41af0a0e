"""Shelf lane offsets moved by a TARE, kept across gateway restarts.

A TARE the device acknowledged changes the device's zero for good (the device keeps it,
see firmware_bridge/PROTOCOL.md), so the offset the gateway subtracts from that lane
must change for good too, or the configured ``tare_g`` would be applied again after a
restart and the lane would read phantom stock. The offsets are the lane interpreter's
snapshot (``bohsense.edge.interpreters.LaneInterpreter``); this file keeps it, one small
JSON file per driver, next to the outbox (``lanes-<driver>.json``)::

    {"<device id>": {"<lane n>": <offset g>, …}, …}

written atomically (temporary file, fsync, rename). Without a state directory (a driver
built by a test or a tool) the offsets live in memory only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bohsense.edge.errors import DriverError
from bohsense.edge.interpreters import JsonState

__all__ = ["LaneBaselines", "StateFile"]


class StateFile:
    """An interpreter's snapshot in one small JSON file, written atomically."""

    what = "interpreter state"

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def load(self) -> JsonState:
        """The kept snapshot ({} when there is none); a file that exists but cannot be read
        is a ``DriverError``: counting from the wrong zero would report wrong stock."""
        if self.path is None:
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise DriverError(f"{self.what} {str(self.path)!r} cannot be read: {exc}") from exc
        if not isinstance(raw, dict):
            raise DriverError(f"{self.what} {str(self.path)!r} is malformed: not a JSON object")
        return raw

    def save(self, state: JsonState) -> None:
        if self.path is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


class LaneBaselines(StateFile):
    """The lane interpreter's offsets (``lanes-<driver>.json``)."""

    what = "lane baselines"
