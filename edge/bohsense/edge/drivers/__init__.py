"""Device drivers: one per device kind; each turns device data into readings."""

from bohsense.edge.drivers.base import CommandRefused, Driver, DriverError, ReadingSink
from bohsense.edge.drivers.registry import KINDS, build_driver

__all__ = ["KINDS", "CommandRefused", "Driver", "DriverError", "ReadingSink", "build_driver"]
