"""Device drivers: one per device kind; each turns device data into readings."""

from bohsense.edge.drivers.base import Driver, DriverError, ReadingSink

__all__ = ["Driver", "DriverError", "ReadingSink"]
