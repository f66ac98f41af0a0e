"""Streaming anomaly detectors of numeric series (see ``_contract`` for the contract)."""

from ._contract import (
    SENSOR_FAULT,
    Detector,
    Features,
    StateError,
    Threshold,
    detector_kinds,
    dumps,
    from_state,
    loads,
)
from ._series import LevelShiftDetector, SeriesDetector, SpikeDetector, StuckDetector, VarianceDetector

__all__ = [
    "SENSOR_FAULT",
    "Detector",
    "Features",
    "LevelShiftDetector",
    "SeriesDetector",
    "SpikeDetector",
    "StateError",
    "StuckDetector",
    "Threshold",
    "VarianceDetector",
    "detector_kinds",
    "dumps",
    "from_state",
    "loads",
]
