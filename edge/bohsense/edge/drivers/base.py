"""The driver interface between device drivers and the edge agent.

A driver owns one device connection (a serial port, an LLRP reader). ``run`` connects,
reads, turns device data into ``Reading`` objects and hands them to the sink; it
reconnects by itself (with backoff) when the device goes away and returns only when
cancelled. Bad device data (a corrupt frame) is counted and logged by the driver and
never ends ``run``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bohsense.contracts.schema import Reading

__all__ = ["CommandRefused", "Driver", "DriverError", "ReadingSink"]


class DriverError(Exception):
    """A driver that cannot be built from its configuration (bad port, bad option), or a
    device that cannot be reached for a command (not connected, no answer)."""


class CommandRefused(Exception):
    """The gateway refuses a device command before sending it; ``reason`` is short and
    sortable (``lane-not-empty``, ``bad-argument``…), ``detail`` is for a person."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class ReadingSink(Protocol):
    def put(self, reading: Reading) -> None:
        """Accept one reading. Never blocks; called from the agent's event loop."""


class Driver(Protocol):
    #: the configured name of this driver instance, unique per gateway
    name: str

    async def run(self, sink: ReadingSink) -> None:
        """Read the device until cancelled, reconnecting as needed."""

    def stats(self) -> Mapping[str, int]:
        """Counters for status and logs: frames, readings, errors by reason, reconnects."""
