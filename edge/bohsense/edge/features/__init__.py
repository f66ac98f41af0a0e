"""Condition features at the gateway: pure numpy, no state but what a caller keeps.

- ``check_block`` / ``block_features``: one vibration waveform block (acceleration in g)
  → velocity RMS 10–1000 Hz and its ISO zone, acceleration RMS and peak, crest factor,
  kurtosis, band energies, shaft orders, bearing envelope energies; a block that fails
  the sensor-fault checks gets a reason and no features;
- ``zone_of``: the ISO 10816-3 / 20816-3 zone of a velocity for a machine class;
- ``TemperatureTrack``: one temperature channel's statistics, compressor duty cycle and
  defrost detection, each sample checked first.

Formulas, the zone table and its sources: docs/condition.md.
"""

from bohsense.edge.features._iso import ISO_ZONES, MACHINE_CLASSES, zone_number, zone_of
from bohsense.edge.features._thermal import TemperatureTrack, ThermalConfig
from bohsense.edge.features._vibration import (
    Bearing,
    BlockFeatures,
    VibrationConfig,
    block_features,
    check_block,
    defect_frequencies,
    envelope_spectrum,
)

__all__ = [
    "ISO_ZONES",
    "MACHINE_CLASSES",
    "Bearing",
    "BlockFeatures",
    "TemperatureTrack",
    "ThermalConfig",
    "VibrationConfig",
    "block_features",
    "check_block",
    "defect_frequencies",
    "envelope_spectrum",
    "zone_number",
    "zone_of",
]
