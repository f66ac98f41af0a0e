"""Vibration severity zones of ISO 10816-3 / ISO 20816-3, and of ISO 10816-1 for small machines.

Broad-band velocity RMS over 10–1000 Hz (machines running above 600 rpm), measured on
the bearing housings, judged against the zone boundaries of the machine's class:

==================  ========================================  =====  =====  =====
class               what it is                                 A/B    B/C    C/D
==================  ========================================  =====  =====  =====
``group1-rigid``    group 1 (300 kW–50 MW), rigid foundation    2.3    4.5    7.1
``group1-flexible`` group 1, flexible foundation                3.5    7.1   11.0
``group2-rigid``    group 2 (15–300 kW), rigid foundation       1.4    2.8    4.5
``group2-flexible`` group 2, flexible foundation                2.3    4.5    7.1
``small``           small machines up to 15 kW (ISO 10816-1     0.71   1.8    4.5
                    class I)
==================  ========================================  =====  =====  =====

(mm/s RMS.) Sources: ISO 10816-3:2009, Annex A, Table A.1 (group 1) and Table A.2
(group 2), whose boundaries ISO 20816-3:2022 carries forward for these groups; ISO
10816-1:1995, Annex B, Table B.1 (class I). Zone A: newly commissioned; B: unrestricted
long-term operation; C: unsatisfactory for long-term operation; D: severe enough to
cause damage. A value *at* a boundary belongs to the higher zone (the conservative
reading: 4.5 mm/s on a group-2 rigid machine is zone D).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Literal

__all__ = ["ISO_ZONES", "MACHINE_CLASSES", "Zone", "zone_number", "zone_of"]

Zone = Literal["A", "B", "C", "D"]

#: class → (A/B, B/C, C/D) boundaries, velocity RMS mm/s (see the module doc for sources)
ISO_ZONES: dict[str, tuple[float, float, float]] = {
    "group1-rigid": (2.3, 4.5, 7.1),
    "group1-flexible": (3.5, 7.1, 11.0),
    "group2-rigid": (1.4, 2.8, 4.5),
    "group2-flexible": (2.3, 4.5, 7.1),
    "small": (0.71, 1.8, 4.5),
}
MACHINE_CLASSES = tuple(ISO_ZONES)
_LETTERS: tuple[Zone, ...] = ("A", "B", "C", "D")


def zone_of(velocity_rms_mm_s: float, machine_class: str) -> Zone:
    """The ISO zone of a velocity RMS (10–1000 Hz, mm/s) for ``machine_class``."""
    bounds = ISO_ZONES.get(machine_class)
    if bounds is None:
        raise ValueError(f"machine class {machine_class!r} is not one of {', '.join(MACHINE_CLASSES)}")
    return _LETTERS[bisect_right(bounds, velocity_rms_mm_s)]


def zone_number(zone: Zone) -> int:
    """A = 1 … D = 4 (the zone as a reading's value)."""
    return _LETTERS.index(zone) + 1
