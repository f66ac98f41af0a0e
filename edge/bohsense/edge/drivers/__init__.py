"""Device drivers: one per device kind; each turns device data into readings and events."""

from bohsense.edge.drivers.base import (
    CommandOutcome,
    CommandReason,
    CommandRefused,
    CommandSpec,
    Driver,
    DriverError,
    NoCommands,
    ReadingSink,
    Sink,
)
from bohsense.edge.drivers.registry import build_driver, driver_kinds

__all__ = [
    "CommandOutcome",
    "CommandReason",
    "CommandRefused",
    "CommandSpec",
    "Driver",
    "DriverError",
    "NoCommands",
    "ReadingSink",
    "Sink",
    "build_driver",
    "driver_kinds",
]
