"""Device drivers: one per device kind; each turns device data into readings."""

from bohsense.edge.drivers.base import CommandRefused, Driver, DriverError, ReadingSink
from bohsense.edge.drivers.registry import build_driver, driver_kinds

__all__ = ["CommandRefused", "Driver", "DriverError", "ReadingSink", "build_driver", "driver_kinds"]
