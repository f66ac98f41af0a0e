"""Channels read as they are: one reading per sample, the channel's name as the metric.

What a condition sensor's channels (``temp_c``, ``vib_rms_mm_s``) need: the device
calibrates, the gateway only places the value at its event time.
"""

from __future__ import annotations

from collections.abc import Mapping

from bohsense.contracts.schema import Reading
from bohsense.edge.interpreters._base import ChannelSample, Interpretation, Observation

__all__ = ["PassThroughInterpreter"]


class PassThroughInterpreter:
    def observe(self, observation: Observation) -> Interpretation:
        if isinstance(observation, ChannelSample):
            o = observation
            return Interpretation(readings=[Reading(o.device, o.name, o.ts, o.value)])
        return Interpretation()

    def counters(self) -> Mapping[str, int]:
        return {}
