"""Fault diagnosis of one acceleration waveform from physics.

Bearing faults: impacts at a defect frequency ring a structural resonance. The
waveform is first pre-whitened by linear prediction (the residual of an autoregressive
model over the last 2.5 ms: shaft and mesh tones and the colouring of the noise are
predictable, impacts are not); the band of highest spectral kurtosis (a kurtogram down
to sixteenths of the range) is demodulated, and the squared envelope spectrum of that
band, and of the whole range as a second look, is searched for lines at BPFO, BPFI and
the ball defect frequency (2 × BSF, and BSF) computed from the geometry, with their
first harmonics and, for the inner race and the ball, the sidebands at shaft and cage
rate (evidence). Each line's height is measured in dB above the local median of that
spectrum, so it means the same at any sampling rate, scale and geometry; the tallest
harmonic counts at most 10 dB above the next (one line alone is a tone pair beating in
the band, not an impact train).

Shaft faults: the share of the vibration energy at 1×, 2×, 3–10× and at half-orders of
shaft speed in the plain spectrum: 1× dominant is imbalance, 2× large against 1× is
misalignment, many harmonics and half-orders is looseness.

The few parameters are in :class:`Thresholds`. The defaults are set from the physics,
not fitted: a peak must stand 8 dB above the local median (a noise-only peak picked
from a few bins stands 3–6 dB), a kurtosis of 4.5 is impulsive (a Gaussian's is 3).
``bohsense models eval cwru`` fits the per-class offsets on one fault size and tests
them on the other.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bohsense.models.errors import InputError

from ._physics import defect_frequencies
from ._signal import (
    amplitude_spectrum,
    ar_residual,
    kurtogram_band,
    peak_db,
    squared_envelope_spectrum,
    time_features,
)

__all__ = ["CLASSES", "Diagnosis", "Thresholds", "diagnose", "features", "read_waveform"]

CLASSES = ("normal", "inner_race", "outer_race", "ball", "imbalance", "misalignment", "looseness")
BEARING = ("inner_race", "outer_race", "ball")
MIN_FS = 5000.0
MIN_REVOLUTIONS = 10
HARMONICS = 3
LINE_SPREAD_DB = 10.0  # how far the tallest harmonic may count above the next one


@dataclass(frozen=True, slots=True)
class Thresholds:
    gate_db: float = 8.0  # mean harmonic height at which a bearing fault is as likely as not
    width_db: float = 1.5
    softmax_db: float = 2.0  # how sharply the tallest bearing class takes the score
    offset_db: dict[str, float] = field(
        default_factory=lambda: {"inner_race": 0.0, "outer_race": 0.0, "ball": 0.0}
    )
    impulsive_kurtosis: float = 4.5  # kurtosis above which the waveform is impulsive
    energy_share: float = 0.35  # share of energy at 1x (imbalance) or 2x (misalignment)
    loose_count: float = 4.0  # harmonics 3..10x and half-orders standing out by 10 dB


@dataclass(frozen=True, slots=True)
class Diagnosis:
    label: str
    scores: dict[str, float]
    evidence: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_waveform(lines: Any) -> np.ndarray:
    """One number per line (g); blank lines are ignored; anything else names its line."""
    values: list[float] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        try:
            v = float(text)
        except ValueError:
            raise InputError(f"expected one number (acceleration, g), got {text[:60]!r}", number) from None
        if not math.isfinite(v):
            raise InputError(f"sample {text!r} is not finite (a sensor fault: nothing to diagnose)", number)
        values.append(v)
    return np.asarray(values, dtype=float)


def _check(x: np.ndarray, fs: float, rpm: float) -> None:
    if not (math.isfinite(fs) and fs >= MIN_FS):
        raise InputError(f"--fs {fs} Hz: need at least {MIN_FS:.0f} Hz")
    if not (math.isfinite(rpm) and 60 <= rpm <= 60 * fs / 50):
        raise InputError(f"--rpm {rpm}: need 60 rpm up to a shaft speed of fs/50")
    need = max(2048, math.ceil(MIN_REVOLUTIONS * fs * 60 / rpm))
    if x.size < need:
        raise InputError(
            f"{x.size} samples: need at least {need} ({MIN_REVOLUTIONS} shaft revolutions and 2048 samples)"
        )
    if float(np.std(x)) == 0.0:
        raise InputError("the waveform is constant (a stuck or disconnected sensor)")


def _line_heights(ef: np.ndarray, es: np.ndarray, base: float, side: float | None) -> dict[str, Any]:
    """Heights of the first harmonics of ``base`` (±1.5 % per harmonic for slip) and,
    when the defect is modulated (``side``: shaft rate for the inner race, cage rate for
    a ball), of the sidebands at ± ``side`` around each harmonic."""
    peaks = []
    sides: list[float] = []
    for h in range(1, HARMONICS + 1):
        hz, db = peak_db(ef, es, h * base, 0.015 * h * base)
        peaks.append({"harmonic": h, "expected_hz": round(h * base, 2), "peak_hz": round(hz, 2),
                      "db_above_baseline": round(db, 2)})  # fmt: skip
        if side:
            for sign in (-1, 1):
                sides.append(max(peak_db(ef, es, hz + sign * side, 0.01 * h * base)[1], 0.0))
    # one harmonic may not carry the class: a single envelope line far above the rest is
    # a tone pair beating in the band, not an impact train, whose harmonics all show
    heights = sorted(max(p["db_above_baseline"], 0.0) for p in peaks)
    heights[-1] = min(heights[-1], heights[-2] + LINE_SPREAD_DB)
    mean_db = float(np.mean(heights))
    out: dict[str, Any] = {"db": mean_db, "peaks": peaks}
    if side:
        side_db = float(np.mean(sides))
        out["sideband_hz"] = round(side, 3)
        out["sideband_db"] = round(side_db, 2)
    return out


def features(
    x: np.ndarray, fs: float, rpm: float, geometry: tuple[int, float, float, float]
) -> dict[str, Any]:
    """Every invariant feature the diagnosis uses, with the frequencies behind them."""
    _check(x, fs, rpm)
    f = defect_frequencies(rpm, *geometry)
    fr = f["shaft"]
    x = x - x.mean()
    out: dict[str, Any] = {"frequencies_hz": {k: round(v, 3) for k, v in f.items()}, **time_features(x)}
    lowest = min(max(500.0, 5 * f["bpfi"]), 0.2 * fs)
    # pre-whiten, then choose the band whose squared envelope is most impulsive; the
    # whole range above ``lowest`` is the second look (a fault whose impacts are weak
    # against the noise in every narrow band may still show its lines over the range)
    white, order = ar_residual(x, fs)
    out["ar_order"] = order
    lo, hi, kurt = kurtogram_band(white, fs, lowest)
    out["band_hz"] = [round(lo, 1), round(hi, 1)]
    out["band_kurtosis"] = kurt
    looks = {
        "band": squared_envelope_spectrum(white, fs, (lo, hi)),
        "range": squared_envelope_spectrum(white, fs, (lowest, 0.45 * fs)),
    }
    bearing: dict[str, Any] = {}
    targets = (
        ("inner_race", "bpfi", f["bpfi"], fr),
        ("outer_race", "bpfo", f["bpfo"], None),
        ("ball", "2xbsf", 2 * f["bsf"], f["ftf"]),
        ("ball", "bsf", f["bsf"], f["ftf"]),
    )
    for cls, name, base, side in targets:
        for look, (ef, es) in looks.items():
            heights = _line_heights(ef, es, base, side)
            if cls not in bearing or heights["db"] > bearing[cls]["db"]:
                bearing[cls] = {"frequency": name, "spectrum": look, **heights}
    for v in bearing.values():
        v["db"] = round(v["db"], 2)
    out["bearing"] = bearing
    sf, ss = amplitude_spectrum(x, fs)
    total = float(np.mean(x * x)) or 1e-300
    orders: dict[str, Any] = {}
    for order_ in (0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9, 10):
        hz, db = peak_db(sf, ss, order_ * fr, 0.02 * order_ * fr)
        amp = float(ss[round(hz / (sf[1] - sf[0]))])
        orders[f"{order_:g}x"] = {"peak_hz": round(hz, 2), "db_above_baseline": round(db, 2),
                                  "energy_share": round(amp * amp / 2 / total, 4)}  # fmt: skip
    out["shaft_orders"] = orders
    return out


def _logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


def strengths(feat: dict[str, Any], th: Thresholds) -> dict[str, float]:
    """How strongly each fault class is indicated, each in [0, 1]. A bearing fault is
    present when its strongest class stands out by ``gate_db``; which one it is follows
    from a softmax of the classes' heights (harmonics of one defect fall near those of
    another, so every class shows a little)."""
    s: dict[str, float] = {}
    db = {c: float(feat["bearing"][c]["db"]) - th.offset_db.get(c, 0.0) for c in BEARING}
    present = _logistic((max(db.values()) - th.gate_db) / th.width_db)
    top = max(db.values())
    weights = {c: math.exp((db[c] - top) / th.softmax_db) for c in BEARING}
    total = sum(weights.values())
    for c in BEARING:
        s[c] = present * weights[c] / total
    # Impacts without a periodicity at BPFO or BPFI: a ball defect strikes only when the
    # spinning ball turns it towards a race, so its impacts are irregular and often show
    # no line at 2 x BSF; an impulsive signal (kurtosis well above a Gaussian's 3) with
    # no race line is called a ball fault.
    impulsive = _logistic((feat["kurtosis"] - th.impulsive_kurtosis) / 0.5)
    s["ball"] = max(s["ball"], impulsive * (1.0 - present))
    o = feat["shaft_orders"]
    e1, e2 = o["1x"]["energy_share"], o["2x"]["energy_share"]
    s["imbalance"] = _logistic((e1 - th.energy_share) / 0.05) * _logistic((e1 - 2 * e2) / 0.05)
    s["misalignment"] = _logistic((e2 - th.energy_share / 2) / 0.03) * _logistic((e2 - 0.5 * e1) / 0.05)
    rest = [v for k, v in o.items() if k not in ("1x", "2x")]
    loud = sum(1 for v in rest if v["db_above_baseline"] >= 10.0)
    share = sum(v["energy_share"] for v in rest)
    # many orders standing out, and together holding a real part of the energy
    s["looseness"] = _logistic((loud - th.loose_count) / 0.7) * _logistic(
        (share - th.energy_share / 2) / 0.03
    )
    return s


def decide(feat: dict[str, Any], th: Thresholds) -> tuple[str, dict[str, float]]:
    s = strengths(feat, th)
    s["normal"] = float(np.prod([1.0 - v for v in s.values()]))
    total = sum(s.values()) or 1.0
    scores = {c: round(s[c] / total, 4) for c in CLASSES}
    label = max(CLASSES, key=lambda c: scores[c])
    return label, scores


def diagnose(
    x: np.ndarray,
    *,
    fs: float,
    rpm: float,
    geometry: tuple[int, float, float, float],
    thresholds: Thresholds | None = None,
) -> Diagnosis:
    feat = features(np.asarray(x, dtype=float), fs, rpm, geometry)
    label, scores = decide(feat, thresholds or Thresholds())
    evidence = {
        "frequencies_hz": feat["frequencies_hz"],
        "resonance_band_hz": feat["band_hz"],
        "band_kurtosis": round(feat["band_kurtosis"], 3),
        "ar_order": feat["ar_order"],
        "kurtosis": round(feat["kurtosis"], 3),
        "crest_factor": round(feat["crest_factor"], 3),
        "rms_g": round(feat["rms"], 6),
        "bearing": feat["bearing"],
        "shaft_orders": feat["shaft_orders"],
    }
    return Diagnosis(label, scores, evidence)
