"""Bearing and shaft fault diagnosis of a vibration waveform (see ``_diagnose``)."""

from ._diagnose import CLASSES, Diagnosis, Thresholds, decide, diagnose, features, read_waveform
from ._physics import defect_frequencies, parse_bearing

__all__ = [
    "CLASSES",
    "Diagnosis",
    "Thresholds",
    "decide",
    "defect_frequencies",
    "diagnose",
    "features",
    "parse_bearing",
    "read_waveform",
]
