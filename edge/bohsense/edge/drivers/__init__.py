"""Device drivers: one per device kind; each turns device data into readings."""

from bohsense.edge.drivers.base import Driver, DriverError, ReadingSink
from bohsense.edge.drivers.registry import KINDS, build_driver

__all__ = ["KINDS", "Driver", "DriverError", "ReadingSink", "build_driver"]
