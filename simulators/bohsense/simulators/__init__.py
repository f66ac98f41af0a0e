"""Device simulators: serial shelves and condition sensors on pseudo-terminals, and LLRP
RFID readers on TCP over a tag world (see docs/simulators.md).

Three layers: ``DeviceRuntime`` (scheduler, device clock, ground truth; no protocol, no
I/O), ``SerialDevice`` (the device side of the ``bohsense.firmware_bridge`` protocol,
sans-I/O: bytes and time in, bytes out) and the front end ``PtyDevice`` (a
pseudo-terminal whose slave path, ``device.port``, the gateway opens with pyserial).
Every device counts what it produced (``ground_truth()``) so tests and the demo can
score the system against it. A shelf has real shelves' physics and faults, and
``ShelfScenario`` (a TOML file and a seed) scripts a day at one, with its ground truth
(docs/shelf.md).

The LLRP readers have the same shape: ``LLRPReader`` (a ``DeviceRuntime``; LLRP 1.0.1
sans-I/O over ``bohsense.llrp``), ``TagWorld`` (items with SGTIN-96 EPCs in zones,
antennas, RSSI, ground truth; built from a ``Scenario``) and the front end
``LLRPServer`` (asyncio TCP, several readers in one process).

Condition sensors with waveforms: the physics is pure numpy and needs no pty —
``machine_waveform`` (rotating machines and their faults), ``simulate_case`` /
``CaseState`` (refrigerated cases and freezers), ``SensorFaults`` — and a
``ConditionScenario`` (TOML, seeded) ties one asset, its faults and its ground truth
together; ``WaveformSensorDevice`` plays it on a pty in accelerated time.
"""

from bohsense.simulators._condition import FAULT_KINDS, ConditionDevice
from bohsense.simulators._condition_scenario import (
    ConditionScenario,
    ConditionScenarioError,
    SensorSpec,
    SimBlock,
    packaged_scenarios,
)
from bohsense.simulators._faults import SENSOR_FAULTS as SENSOR_FAULT_KINDS
from bohsense.simulators._faults import FaultSpec, SensorFault, SensorFaults
from bohsense.simulators._llrp_base import Behaviour
from bohsense.simulators._llrp_faults import FAULTS as LLRP_FAULTS
from bohsense.simulators._llrp_faults import Fault, readers_for
from bohsense.simulators._llrp_reader import LLRPReader
from bohsense.simulators._llrp_server import LLRPServer
from bohsense.simulators._machines import (
    BEARING_FAULTS,
    MACHINE_FAULTS,
    MACHINES,
    Bearing,
    BearingFrequencies,
    Machine,
    machine_waveform,
)
from bohsense.simulators._pty import PtyDevice
from bohsense.simulators._refrigeration import (
    CASES,
    REFRIGERATION_FAULTS,
    CaseModel,
    CaseState,
    RefrigerationTrace,
    simulate_case,
)
from bohsense.simulators._runtime import Clock, DeviceRuntime
from bohsense.simulators._sensor import SentBlock, WaveformSensorDevice
from bohsense.simulators._serial import SerialDevice
from bohsense.simulators._shelf import CELL_FAULTS, Lane, ShelfDevice
from bohsense.simulators._shelf_scenario import ShelfScenario, ShelfScenarioError, packaged_scenario
from bohsense.simulators._tags import Scenario, ScenarioError, TagWorld

__all__ = [
    "BEARING_FAULTS",
    "CASES",
    "CELL_FAULTS",
    "FAULT_KINDS",
    "LLRP_FAULTS",
    "MACHINES",
    "MACHINE_FAULTS",
    "REFRIGERATION_FAULTS",
    "SENSOR_FAULT_KINDS",
    "Bearing",
    "BearingFrequencies",
    "Behaviour",
    "CaseModel",
    "CaseState",
    "Clock",
    "ConditionDevice",
    "ConditionScenario",
    "ConditionScenarioError",
    "DeviceRuntime",
    "Fault",
    "FaultSpec",
    "LLRPReader",
    "LLRPServer",
    "Lane",
    "Machine",
    "PtyDevice",
    "RefrigerationTrace",
    "Scenario",
    "ScenarioError",
    "SensorFault",
    "SensorFaults",
    "SensorSpec",
    "SentBlock",
    "SerialDevice",
    "ShelfDevice",
    "ShelfScenario",
    "ShelfScenarioError",
    "SimBlock",
    "TagWorld",
    "WaveformSensorDevice",
    "machine_waveform",
    "packaged_scenario",
    "packaged_scenarios",
    "readers_for",
    "simulate_case",
]
