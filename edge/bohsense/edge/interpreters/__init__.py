"""Interpreters: neutral device observations in, readings and typed events out.

A driver's session emits observations (``DeviceAttached``, ``ChannelSample``, ``Tared``)
and knows nothing of what the values mean; an interpreter (``Interpreter``: pure, with
its own state) turns them into ``Reading`` and ``Event`` objects for the sink::

    LaneInterpreter         shelf lanes: weight_g, settled units, shelf.pick / putback / restock,
                            shelf.lane_state (stable, settling, unfit, fault)
    PassThroughInterpreter  one reading per sample, the channel's name as the metric
    PresenceInterpreter     RFID tag reads: rfid.item arrived / moved / departed, zone snapshots
    ConditionInterpreter    condition sensors: waveform and temperature features, sensor
                            faults, local alarms, raw snapshots
    InterpreterRouter       the interpreter of each device's source kind
"""

from bohsense.edge.interpreters._base import (
    ChannelInvalid,
    ChannelSample,
    DeviceAttached,
    DeviceDetached,
    DeviceObservation,
    Interpretation,
    Interpreter,
    InterpreterStateError,
    JsonState,
    Observation,
    ReaderObservation,
    StatefulInterpreter,
    TagSeen,
    Tared,
    Tick,
    WaveformBlock,
)
from bohsense.edge.interpreters._condition import ConditionConfig, ConditionInterpreter
from bohsense.edge.interpreters._lanes import (
    CONDITION_OF,
    Condition,
    LaneConfig,
    LaneEstimator,
    LaneInterpreter,
    LaneStateChange,
    LaneStep,
    LaneUpdate,
    Signal,
    StabilityConfig,
    change_confidence,
)
from bohsense.edge.interpreters._passthrough import PassThroughInterpreter
from bohsense.edge.interpreters._presence import PresenceConfig, PresenceInterpreter
from bohsense.edge.interpreters._router import InterpreterRouter

__all__ = [
    "CONDITION_OF",
    "ChannelInvalid",
    "ChannelSample",
    "Condition",
    "ConditionConfig",
    "ConditionInterpreter",
    "DeviceAttached",
    "DeviceDetached",
    "DeviceObservation",
    "Interpretation",
    "Interpreter",
    "InterpreterRouter",
    "InterpreterStateError",
    "JsonState",
    "LaneConfig",
    "LaneEstimator",
    "LaneInterpreter",
    "LaneStateChange",
    "LaneStep",
    "LaneUpdate",
    "Observation",
    "PassThroughInterpreter",
    "PresenceConfig",
    "PresenceInterpreter",
    "ReaderObservation",
    "Signal",
    "StabilityConfig",
    "StatefulInterpreter",
    "TagSeen",
    "Tared",
    "Tick",
    "WaveformBlock",
    "change_confidence",
]
