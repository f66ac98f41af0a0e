"""One interpreter per source kind: what a driver holds when its devices differ.

``InterpreterRouter({"shelf": lanes}, default=PassThroughInterpreter())`` sends every
observation of a device to the interpreter of the source kind the device attached with
(``DeviceAttached.source``). An observation of a device that never attached is counted
(``unattached``) and makes nothing; so is one that names no device at all
(``observations_unknown``): the router never raises for what a session hands it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from bohsense.edge.interpreters._base import (
    DeviceAttached,
    Interpretation,
    Interpreter,
    Observation,
    TagSeen,
    Tick,
)

__all__ = ["InterpreterRouter"]


class InterpreterRouter:
    def __init__(self, by_source: Mapping[str, Interpreter], default: Interpreter) -> None:
        self.by_source = dict(by_source)
        self.default = default
        self._devices: dict[str, Interpreter] = {}
        self._counters: Counter[str] = Counter()

    def for_source(self, source: str) -> Interpreter:
        return self.by_source.get(source, self.default)

    def observe(self, observation: Observation) -> Interpretation:
        if isinstance(observation, TagSeen | Tick):
            self._counters["not_a_device_observation"] += 1  # a reader's: not routed by device
            return Interpretation()
        if isinstance(observation, DeviceAttached):
            self._devices[observation.device] = self.for_source(observation.source)
        device = getattr(observation, "device", None)
        if not isinstance(device, str):
            self._counters["observations_unknown"] += 1
            return Interpretation()
        interpreter = self._devices.get(device)
        if interpreter is None:
            self._counters["unattached"] += 1
            return Interpretation()
        return interpreter.observe(observation)

    def counters(self) -> Mapping[str, int]:
        out = Counter(self._counters)
        for interpreter in {id(i): i for i in (*self.by_source.values(), self.default)}.values():
            out.update(interpreter.counters())
        return dict(out)
