"""Device simulators: serial shelves and condition sensors on pseudo-terminals.

Each device speaks the ``bohsense.firmware_bridge`` protocol on the master end of a
pty; the gateway opens ``device.port`` with pyserial. Every device counts what it
produced (``ground_truth()``) so tests and the demo can score the system against it.
"""

from bohsense.simulators._condition import FAULT_KINDS, ConditionDevice
from bohsense.simulators._pty import PtyDevice
from bohsense.simulators._shelf import Lane, ShelfDevice

__all__ = ["FAULT_KINDS", "ConditionDevice", "Lane", "PtyDevice", "ShelfDevice"]
