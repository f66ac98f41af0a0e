"""Device simulators: serial shelves and condition sensors on pseudo-terminals.

Three layers: ``DeviceRuntime`` (scheduler, device clock, ground truth; no protocol, no
I/O), ``SerialDevice`` (the device side of the ``bohsense.firmware_bridge`` protocol,
sans-I/O: bytes and time in, bytes out) and the front end ``PtyDevice`` (a
pseudo-terminal whose slave path, ``device.port``, the gateway opens with pyserial).
Every device counts what it produced (``ground_truth()``) so tests and the demo can
score the system against it.
"""

from bohsense.simulators._condition import FAULT_KINDS, ConditionDevice
from bohsense.simulators._pty import PtyDevice
from bohsense.simulators._runtime import Clock, DeviceRuntime
from bohsense.simulators._serial import SerialDevice
from bohsense.simulators._shelf import Lane, ShelfDevice

__all__ = [
    "FAULT_KINDS",
    "Clock",
    "ConditionDevice",
    "DeviceRuntime",
    "Lane",
    "PtyDevice",
    "SerialDevice",
    "ShelfDevice",
]
