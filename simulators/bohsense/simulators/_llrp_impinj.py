"""Impinj's tag report extensions (Octane LLRP): which ones a client asked for in an
ImpinjTagReportContentSelector, and the Custom parameters a TagReportData carries.

The selector (Custom 25882/50, inside an ROReportSpec) holds Custom parameters
ImpinjEnableRFPhaseAngle (52), ImpinjEnablePeakRSSI (53) and
ImpinjEnableRFDopplerFrequency (67), each a u16 mode (1: enabled); other enable
parameters are refused, not ignored. A tag then carries ImpinjRFPhaseAngle (56, u16, 0-4095
for 0-2π), ImpinjPeakRSSI (57, s16, dBm × 100) and ImpinjRFDopplerFrequency (68, s16 Hz).
"""

from __future__ import annotations

import math
import random
import struct
from typing import TypeGuard

from bohsense.llrp import Custom

__all__ = [
    "IMPINJ_VENDOR_ID",
    "ImpinjSelectorError",
    "impinj_tag_values",
    "is_impinj_tag_selector",
    "parse_impinj_tag_selector",
]

IMPINJ_VENDOR_ID = 25882
TAG_REPORT_CONTENT_SELECTOR = 50
ENABLE_PHASE, ENABLE_PEAK_RSSI, ENABLE_DOPPLER = 52, 53, 67
PHASE, PEAK_RSSI, DOPPLER = 56, 57, 68
_KNOWN = {ENABLE_PHASE: PHASE, ENABLE_PEAK_RSSI: PEAK_RSSI, ENABLE_DOPPLER: DOPPLER}
_HEAD = struct.Struct(">HHII")


class ImpinjSelectorError(ValueError):
    """An ImpinjTagReportContentSelector the reader cannot honour."""


def is_impinj_tag_selector(ext: object) -> TypeGuard[Custom]:
    return (
        isinstance(ext, Custom)
        and ext.vendor_id == IMPINJ_VENDOR_ID
        and ext.subtype == TAG_REPORT_CONTENT_SELECTOR
    )


def parse_impinj_tag_selector(selector: Custom) -> frozenset[int]:
    """The subtypes of the values to report (56, 57, 68) that the selector enables."""
    data, pos, on = selector.data, 0, set()
    while pos < len(data):
        if len(data) - pos < _HEAD.size + 2:
            raise ImpinjSelectorError(f"ImpinjTagReportContentSelector: {len(data) - pos} stray bytes")
        ptype, length, vendor, subtype = _HEAD.unpack_from(data, pos)
        if (
            ptype & 0x3FF != 1023
            or vendor != IMPINJ_VENDOR_ID
            or length != _HEAD.size + 2
            or pos + length > len(data)
        ):
            raise ImpinjSelectorError(
                f"ImpinjTagReportContentSelector: parameter type {ptype & 0x3FF}, vendor {vendor}, "
                f"length {length} is not an Impinj enable parameter"
            )
        if subtype not in _KNOWN:
            raise ImpinjSelectorError(
                f"ImpinjTagReportContentSelector: Impinj parameter {subtype} is not supported"
            )
        (mode,) = struct.unpack_from(">H", data, pos + _HEAD.size)
        if mode not in (0, 1):
            raise ImpinjSelectorError(
                f"ImpinjTagReportContentSelector: mode {mode} of parameter {subtype} is not 0-1"
            )
        if mode:
            on.add(_KNOWN[subtype])
        pos += length
    return frozenset(on)


def impinj_tag_values(enabled: frozenset[int], peak_rssi_dbm: int, rng: random.Random) -> tuple[Custom, ...]:
    """The Impinj Custom parameters of one tag report, in Impinj's order."""
    out = []
    if PHASE in enabled:
        phase = rng.uniform(0, 2 * math.pi)
        out.append(
            Custom(
                vendor_id=IMPINJ_VENDOR_ID,
                subtype=PHASE,
                data=struct.pack(">H", int(phase / (2 * math.pi) * 4096) % 4096),
            )
        )
    if PEAK_RSSI in enabled:
        out.append(
            Custom(vendor_id=IMPINJ_VENDOR_ID, subtype=PEAK_RSSI, data=struct.pack(">h", peak_rssi_dbm * 100))
        )
    if DOPPLER in enabled:
        out.append(
            Custom(
                vendor_id=IMPINJ_VENDOR_ID, subtype=DOPPLER, data=struct.pack(">h", round(rng.gauss(0, 2)))
            )
        )
    return tuple(out)
