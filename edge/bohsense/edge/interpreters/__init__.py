"""Interpreters: neutral device observations in, readings and typed events out.

A driver's session emits observations (``DeviceAttached``, ``ChannelSample``, ``Tared``)
and knows nothing of what the values mean; an interpreter (``Interpreter``: pure, with
its own state) turns them into ``Reading`` and ``Event`` objects for the sink::

    LaneInterpreter         shelf lanes: weight_g, settled units, shelf.pick / shelf.putback
    PassThroughInterpreter  one reading per sample, the channel's name as the metric
    PresenceInterpreter     RFID tag reads: rfid.item arrived / moved / departed, zone snapshots
    ConditionInterpreter    condition sensors: waveform and temperature features, sensor
                            faults, local alarms, raw snapshots
    InterpreterRouter       the interpreter of each device's source kind
"""

from bohsense.edge.interpreters._base import (
    ChannelSample,
    DeviceAttached,
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
    LaneConfig,
    LaneEstimator,
    LaneInterpreter,
    LaneStep,
    LaneUpdate,
    StabilityConfig,
    change_confidence,
)
from bohsense.edge.interpreters._passthrough import PassThroughInterpreter
from bohsense.edge.interpreters._presence import PresenceConfig, PresenceInterpreter
from bohsense.edge.interpreters._router import InterpreterRouter

__all__ = [
    "ChannelSample",
    "ConditionConfig",
    "ConditionInterpreter",
    "DeviceAttached",
    "DeviceObservation",
    "Interpretation",
    "Interpreter",
    "InterpreterRouter",
    "InterpreterStateError",
    "JsonState",
    "LaneConfig",
    "LaneEstimator",
    "LaneInterpreter",
    "LaneStep",
    "LaneUpdate",
    "Observation",
    "PassThroughInterpreter",
    "PresenceConfig",
    "PresenceInterpreter",
    "ReaderObservation",
    "StabilityConfig",
    "StatefulInterpreter",
    "TagSeen",
    "Tared",
    "Tick",
    "WaveformBlock",
    "change_confidence",
]
