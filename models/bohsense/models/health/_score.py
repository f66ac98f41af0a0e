"""Health score of one asset, 0–100, from its current features against its learnt
baseline, with every contribution named.

The score starts at 100 and loses points per contribution; each contribution's points
grow from zero, at the edge of normal, to its cap, at a level that needs action:

========================  ===================================================  =====
contribution              from the edge of normal to full points               cap
========================  ===================================================  =====
``iso_zone``              velocity RMS through ISO 10816 zones A → B → C → D   80
``envelope_<line>``       tallest bearing line, 3 → 15 dB above its baseline    35
``kurtosis``              robust z against the baseline, 3 → 10                 15
``crest_factor``          robust z against the baseline, 3 → 10                 10
``temperature``           robust z against the baseline, 2 → 6                  40
``duty_cycle``            robust z against the baseline, 2 → 6                  30
``detector``              anomaly score 0.5 → 1                                  25
``remaining_life``        estimated remaining life, horizon → 0 days             60
========================  ===================================================  =====

The caps say how much one contribution alone can cost: a machine in ISO zone D is at
most 20 whatever else is true, a freezer that runs hot and long at most 30. Points add
up, and the score is ``max(0, 100 − total)``.

A value that is not finite or is physically impossible (a negative velocity, a
kurtosis below 1, a duty cycle outside 0–1, a temperature outside −60…+90 °C) is a
sensor fault: it is named in ``sensor_faults``, costs no points (a broken sensor is not
a worn machine) and lowers ``coverage``. Missing required features, unknown feature
names, or a baseline without spread are refused with :class:`InputError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from bohsense.models.errors import InputError

__all__ = [
    "FEATURES",
    "ISO_ZONES",
    "Baseline",
    "Contribution",
    "Health",
    "features_from_diagnosis",
    "health_score",
    "iso_zone",
    "learn_baseline",
]

# name -> (unit, physically possible range)
FEATURES: dict[str, tuple[str, float, float]] = {
    "velocity_rms_mm_s": ("mm/s", 0.0, 1000.0),
    "envelope_bpfo_db": ("dB", -200.0, 200.0),
    "envelope_bpfi_db": ("dB", -200.0, 200.0),
    "envelope_bsf_db": ("dB", -200.0, 200.0),
    "kurtosis": ("", 1.0, 1e6),
    "crest_factor": ("", 1.0, 1e4),
    "temperature_c": ("°C", -60.0, 90.0),
    "duty_cycle": ("share", 0.0, 1.0),
}
REQUIRED = {"rotating": ("velocity_rms_mm_s",), "refrigeration": ("temperature_c", "duty_cycle")}
TRENDED = ("envelope_bpfo_db", "envelope_bpfi_db", "envelope_bsf_db", "kurtosis", "crest_factor",
           "temperature_c", "duty_cycle")  # fmt: skip

# ISO 10816-1 machine classes and ISO 10816-3 groups: velocity RMS (mm/s, 10-1000 Hz)
# at the A/B, B/C and C/D zone boundaries
ISO_ZONES: dict[str, tuple[float, float, float]] = {
    "class_I": (0.71, 1.8, 4.5),  # small machines, up to 15 kW
    "class_II": (1.12, 2.8, 7.1),  # medium machines, 15-75 kW, or up to 300 kW on special foundations
    "class_III": (1.8, 4.5, 11.2),  # large machines on rigid foundations
    "class_IV": (2.8, 7.1, 18.0),  # large machines on soft foundations
    "group2_rigid": (1.4, 2.8, 4.5),  # 10816-3, 15-300 kW
    "group2_flexible": (2.3, 4.5, 7.1),
    "group1_rigid": (2.3, 4.5, 7.1),  # 10816-3, 300 kW-50 MW
    "group1_flexible": (3.5, 7.1, 11.0),
}
MIN_BASELINE = 20  # feature vectors needed to learn a baseline


@dataclass(frozen=True, slots=True)
class Baseline:
    """The asset's normal, per trended feature: median and robust spread (1.4826 × the
    median absolute deviation, floored at a resolution so a very steady feature does not
    make every wobble an alarm)."""

    median: dict[str, float]
    spread: dict[str, float]
    samples: int

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Baseline:
        _refuse_unknown(d, {"median", "spread", "samples"}, "baseline")
        try:
            median = {str(k): float(v) for k, v in dict(d["median"]).items()}
            spread = {str(k): float(v) for k, v in dict(d["spread"]).items()}
            samples = int(d["samples"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"baseline: needs median, spread (feature -> number) and samples ({exc})"
            ) from None
        _refuse_unknown(median, set(FEATURES), "baseline median")
        if set(median) != set(spread):
            raise InputError("baseline: median and spread must name the same features")
        for k in median:
            if not (math.isfinite(median[k]) and math.isfinite(spread[k]) and spread[k] > 0):
                raise InputError(f"baseline: {k} needs a finite median and a spread above 0")
        return cls(median, spread, samples)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Contribution:
    name: str
    value: float
    reference: str  # what the value was judged against
    points: float  # points taken off the score
    cap: float


@dataclass(frozen=True, slots=True)
class Health:
    score: float | None  # None when no feature could be judged (every sensor faulty)
    contributions: list[Contribution]
    sensor_faults: dict[str, str] = field(default_factory=dict)
    coverage: float = 1.0  # share of the supplied features that were judged

    @property
    def drivers(self) -> list[Contribution]:
        """Contributions that cost points, largest first."""
        return sorted((c for c in self.contributions if c.points > 0), key=lambda c: -c.points)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "drivers": [asdict(c) for c in self.drivers],
            "contributions": [asdict(c) for c in self.contributions],
            "sensor_faults": dict(self.sensor_faults),
            "coverage": self.coverage,
        }


def _refuse_unknown(d: Mapping[str, Any], known: Iterable[str], what: str) -> None:
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise InputError(f"{what}: unknown field(s) {', '.join(map(repr, unknown))}")


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 at or below ``lo``, 1 at or above ``hi``, linear between."""
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


def _fault(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be a reading of feature ``name``, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"feature {name}: expected a number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        return f"{value!r} is not finite"
    unit, lo, hi = FEATURES[name]
    if not lo <= v <= hi:
        return f"{v:g} {unit} is outside the possible {lo:g}..{hi:g}".replace("  ", " ")
    return None


def iso_zone(velocity_mm_s: float, machine_class: str) -> tuple[str, float]:
    """ISO 10816 zone (A, B, C, D) of a velocity RMS and the points it costs: A 0-5,
    B 5-20, C 20-50, D 50 at its boundary up to 80 at 1.6 times it."""
    try:
        ab, bc, cd = ISO_ZONES[machine_class]
    except KeyError:
        raise InputError(f"machine_class {machine_class!r}: one of {', '.join(ISO_ZONES)}") from None
    v = velocity_mm_s
    if v < ab:
        return "A", 5 * v / ab
    if v < bc:
        return "B", 5 + 15 * _ramp(v, ab, bc)
    if v < cd:
        return "C", 20 + 30 * _ramp(v, bc, cd)
    return "D", 50 + 30 * _ramp(v, cd, 1.6 * cd)


def learn_baseline(history: Iterable[Mapping[str, float]]) -> Baseline:
    """Median and robust spread of each trended feature over a healthy period; values
    that are sensor faults are left out. Needs ``MIN_BASELINE`` good values per feature."""
    columns: dict[str, list[float]] = {}
    for row in history:
        _refuse_unknown(row, set(FEATURES), "baseline history")
        for k, v in row.items():
            if k in TRENDED and _fault(k, v) is None:
                columns.setdefault(k, []).append(float(v))
    median: dict[str, float] = {}
    spread: dict[str, float] = {}
    for k, values in columns.items():
        if len(values) < MIN_BASELINE:
            continue
        values.sort()
        m = _median(values)
        mad = _median(sorted(abs(v - m) for v in values))
        floor = {"duty_cycle": 0.01, "temperature_c": 0.1}.get(
            k, 0.25 if k.startswith("envelope") else 0.02 * abs(m) or 1e-3
        )
        median[k], spread[k] = m, max(1.4826 * mad, floor)
    if not median:
        raise InputError(f"baseline: no feature has {MIN_BASELINE} good values in the history")
    n = max(len(v) for v in columns.values())
    return Baseline(median, spread, n)


def features_from_diagnosis(evidence: Mapping[str, Any]) -> dict[str, float]:
    """The health features a vibration diagnosis's ``evidence`` holds (the class heights
    of the envelope lines, kurtosis and crest factor); velocity RMS is the edge's."""
    try:
        bearing = evidence["bearing"]
        return {
            "envelope_bpfo_db": float(bearing["outer_race"]["db"]),
            "envelope_bpfi_db": float(bearing["inner_race"]["db"]),
            "envelope_bsf_db": float(bearing["ball"]["db"]),
            "kurtosis": float(evidence["kurtosis"]),
            "crest_factor": float(evidence["crest_factor"]),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"diagnosis evidence: missing or not a number: {exc}") from None


def _median(sorted_values: list[float]) -> float:
    n = len(sorted_values)
    mid = n // 2
    return sorted_values[mid] if n % 2 else (sorted_values[mid - 1] + sorted_values[mid]) / 2


def health_score(
    features: Mapping[str, float],
    baseline: Baseline,
    *,
    kind: str,
    machine_class: str = "class_II",
    detector_score: float | None = None,
    rul_days: float | None = None,
    rul_horizon_days: float = 180.0,
) -> Health:
    """The health of one asset now (see the module's table). ``kind`` is ``rotating``
    (motors, fans, compressors, conveyors) or ``refrigeration`` (cases, freezers);
    ``detector_score`` is the asset's anomaly score in [0, 1] and ``rul_days`` its
    estimated remaining life, both optional."""
    if kind not in REQUIRED:
        raise InputError(f"kind {kind!r}: one of {', '.join(REQUIRED)}")
    _refuse_unknown(features, set(FEATURES), "features")
    missing = [k for k in REQUIRED[kind] if k not in features]
    if missing:
        raise InputError(f"features: a {kind} asset needs {', '.join(missing)}")
    if machine_class not in ISO_ZONES:
        raise InputError(f"machine_class {machine_class!r}: one of {', '.join(ISO_ZONES)}")
    faults: dict[str, str] = {}
    good: dict[str, float] = {}
    for k, v in features.items():
        reason = _fault(k, v)
        if reason:
            faults[k] = reason
        else:
            good[k] = float(v)
    untrended = [k for k in good if k in TRENDED and k not in baseline.median]
    if untrended:
        raise InputError(f"baseline: has nothing learnt for {', '.join(sorted(untrended))}")
    out: list[Contribution] = []

    if "velocity_rms_mm_s" in good:
        zone, points = iso_zone(good["velocity_rms_mm_s"], machine_class)
        ab, bc, cd = ISO_ZONES[machine_class]
        out.append(Contribution("iso_zone", round(good["velocity_rms_mm_s"], 3),
                                f"zone {zone} of {machine_class} (A/B {ab}, B/C {bc}, C/D {cd} mm/s)",
                                round(points, 1), 80.0))  # fmt: skip

    lines = [k for k in ("envelope_bpfo_db", "envelope_bpfi_db", "envelope_bsf_db") if k in good]
    if lines:
        rise = {k: good[k] - baseline.median[k] for k in lines}
        top = max(lines, key=lambda k: rise[k])
        name = "envelope_" + top.split("_")[1]
        out.append(Contribution(name, round(rise[top], 2), f"dB above its baseline {baseline.median[top]:.1f} dB",
                                round(35 * _ramp(rise[top], 3.0, 15.0), 1), 35.0))  # fmt: skip

    for k, name, lo, hi, cap in (
        ("kurtosis", "kurtosis", 3.0, 10.0, 15.0),
        ("crest_factor", "crest_factor", 3.0, 10.0, 10.0),
        ("temperature_c", "temperature", 2.0, 6.0, 40.0),
        ("duty_cycle", "duty_cycle", 2.0, 6.0, 30.0),
    ):
        if k in good:
            z = (good[k] - baseline.median[k]) / baseline.spread[k]
            out.append(Contribution(name, round(good[k], 4),
                                    f"robust z {z:+.1f} against baseline {baseline.median[k]:.4g} ± {baseline.spread[k]:.3g}",
                                    round(cap * _ramp(z, lo, hi), 1), cap))  # fmt: skip

    if detector_score is not None:
        s = float(detector_score)
        if not (math.isfinite(s) and 0.0 <= s <= 1.0):
            raise InputError(f"detector_score {detector_score!r}: need a number in [0, 1]")
        out.append(Contribution("detector", round(s, 4), "anomaly score, 0.5 is the edge of normal",
                                round(25 * _ramp(s, 0.5, 1.0), 1), 25.0))  # fmt: skip

    if rul_days is not None:
        r = float(rul_days)
        if not (math.isfinite(r) and r >= 0) or not (
            math.isfinite(rul_horizon_days) and rul_horizon_days > 0
        ):
            raise InputError(
                f"rul_days {rul_days!r} / horizon {rul_horizon_days!r}: need finite, >= 0 and > 0"
            )
        out.append(Contribution("remaining_life", round(r, 1), f"days left, against a horizon of {rul_horizon_days:g}",
                                round(60 * (1 - min(1.0, r / rul_horizon_days)), 1), 60.0))  # fmt: skip

    coverage = round(len(good) / len(features), 3) if features else 0.0
    if not good:
        # the anomaly score and the remaining life come from the same faulty sensors
        return Health(None, out, faults, coverage)
    total = sum(c.points for c in out)
    return Health(round(max(0.0, 100.0 - total), 1), out, faults, coverage)
