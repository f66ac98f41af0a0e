"""Channels read as they are: one reading per sample, the channel's name as the metric.

What a condition sensor's channels (``temp_c``, ``vib_rms_mm_s``, ``supply_v``…) need: the
device calibrates, the gateway only places the value at its event time. A waveform block
is no channel sample: it is left to an interpreter that computes features from it, and
counted here (``waveform_blocks_not_interpreted``); so is any observation of a kind this
interpreter does not know (``observations_unknown``). Neither ever raises.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from bohsense.contracts.schema import Reading
from bohsense.edge.interpreters._base import (
    ChannelSample,
    DeviceAttached,
    Interpretation,
    Observation,
    TagSeen,
    Tared,
    Tick,
    WaveformBlock,
)

__all__ = ["PassThroughInterpreter"]


class PassThroughInterpreter:
    def __init__(self) -> None:
        self._counters: Counter[str] = Counter()

    def observe(self, observation: Observation) -> Interpretation:
        if isinstance(observation, ChannelSample):
            o = observation
            return Interpretation(readings=[Reading(o.device, o.name, o.ts, o.value)])
        if isinstance(observation, WaveformBlock):
            self._counters["waveform_blocks_not_interpreted"] += 1
        elif not isinstance(observation, DeviceAttached | Tared | TagSeen | Tick):
            self._counters["observations_unknown"] += 1
        return Interpretation()

    def counters(self) -> Mapping[str, int]:
        return dict(self._counters)
