"""Vibration physics of rotating machines: acceleration waveforms in g, with faults.

Pure numpy, no I/O and no clock: ``machine_waveform(machine, faults, t_s, …)`` is the
acceleration one accelerometer axis sees during the block that starts at simulated time
``t_s``, for faults of given severity (0 healthy … 1 functional failure). The same
(seed, time, axis) always gives the same block, whatever was asked before.

What is in the signal (``x``, ``y`` radial, 90° apart; ``z`` axial):

- the shaft: speed ``shaft_hz`` with a slow ±0.3 % load wander (``shaft_hz_at``), a small
  residual 1× and 2×, a few harmonics, the machine's own lines (fan blade pass, gear
  mesh, twice line frequency for electric drives) and broadband sensor noise;
- imbalance: 1× radial (x and y in quadrature), little axial;
- misalignment: 2× (and 1×, 3×) strongest in the axial direction;
- looseness: many harmonics of 1× and half-harmonics, strongest vertically (y);
- bearing defects as impulse trains at the defect frequency of the bearing's geometry
  (``Bearing.frequencies``: BPFO outer race, BPFI inner race, BSF ball, FTF cage), each
  impact ringing the machine's structural resonance (a damped sine, ``resonance_hz``,
  ``damping``). Inner-race impacts are amplitude-modulated by the shaft (the defect passes
  through the load zone once per turn); ball impacts alternate between the races (2×BSF,
  with the BSF line from the alternation) and are modulated by the cage (FTF); impact
  times jitter 0.5 % (slip) without drifting from the mean rate. The impact strength
  grows with the square of severity (an incipient spall barely rings: 0.01 g at the onset
  severity of 0.05, below the noise; 4 g at failure). A bearing near failure also raises
  the noise floor.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = [
    "AXES",
    "BEARING_FAULTS",
    "MACHINES",
    "MACHINE_FAULTS",
    "Bearing",
    "BearingFrequencies",
    "Machine",
    "machine_waveform",
]

Array = npt.NDArray[np.float64]

AXES = ("x", "y", "z")
#: fault kind -> the bearing frequency its impacts repeat at
BEARING_FAULTS: dict[str, str] = {"outer_race": "bpfo", "inner_race": "bpfi", "ball": "bsf", "cage": "ftf"}
MACHINE_FAULTS = ("imbalance", "misalignment", "looseness", *BEARING_FAULTS)


@dataclass(frozen=True, slots=True)
class BearingFrequencies:
    """Defect frequencies in Hz at one shaft speed."""

    bpfo: float
    bpfi: float
    bsf: float
    ftf: float

    def as_dict(self) -> dict[str, float]:
        return {"bpfo": self.bpfo, "bpfi": self.bpfi, "bsf": self.bsf, "ftf": self.ftf}


@dataclass(frozen=True, slots=True)
class Bearing:
    """A rolling-element bearing's geometry: ball count, ball and pitch diameter, contact angle."""

    n_balls: int
    ball_diameter_mm: float
    pitch_diameter_mm: float
    contact_angle_deg: float = 0.0

    def __post_init__(self) -> None:
        if self.n_balls < 3 or not 0 < self.ball_diameter_mm < self.pitch_diameter_mm:
            raise ValueError(f"implausible bearing geometry {self}")
        if not 0.0 <= self.contact_angle_deg < 90.0:
            raise ValueError(f"contact angle {self.contact_angle_deg}° outside 0..90")

    def frequencies(self, shaft_hz: float) -> BearingFrequencies:
        """The classical kinematic defect frequencies (inner race turning, outer race fixed)."""
        ratio = (
            self.ball_diameter_mm / self.pitch_diameter_mm * math.cos(math.radians(self.contact_angle_deg))
        )
        n = self.n_balls
        return BearingFrequencies(
            bpfo=n / 2 * shaft_hz * (1 - ratio),
            bpfi=n / 2 * shaft_hz * (1 + ratio),
            bsf=self.pitch_diameter_mm / (2 * self.ball_diameter_mm) * shaft_hz * (1 - ratio**2),
            ftf=shaft_hz / 2 * (1 - ratio),
        )


@dataclass(frozen=True, slots=True)
class Machine:
    """A rotating machine as the accelerometer on its drive-end bearing housing sees it."""

    kind: str
    shaft_hz: float
    bearing: Bearing
    resonance_hz: float
    damping: float = 0.04
    #: healthy residual 1× (imbalance that every machine has), g peak
    base_1x_g: float = 0.03
    noise_g: float = 0.02
    #: further lines (multiple of shaft speed -> g peak): blade pass, gear mesh
    lines: Mapping[float, float] = field(default_factory=dict)
    #: twice line frequency of an electric drive (Hz; 0: none), g peak 0.01
    electric_hz: float = 100.0

    def shaft_hz_at(self, t_s: float) -> float:
        """Shaft speed at simulated time ``t_s``: a slow ±0.3 % wander with load (period 1 h)."""
        return self.shaft_hz * (1.0 + 0.003 * math.sin(2 * math.pi * t_s / 3600.0))

    def defect_frequencies(self, t_s: float) -> BearingFrequencies:
        return self.bearing.frequencies(self.shaft_hz_at(t_s))

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "shaft_hz": self.shaft_hz,
            "bearing": {
                "n_balls": self.bearing.n_balls,
                "ball_diameter_mm": self.bearing.ball_diameter_mm,
                "pitch_diameter_mm": self.bearing.pitch_diameter_mm,
                "contact_angle_deg": self.bearing.contact_angle_deg,
            },
            "defect_hz": self.bearing.frequencies(self.shaft_hz).as_dict(),
            "resonance_hz": self.resonance_hz,
        }


#: typical machines of a store; bearings are common deep-groove sizes (6205: CWRU's drive end)
MACHINES: dict[str, Machine] = {
    "motor": Machine("motor", 1770 / 60, Bearing(9, 7.94, 39.04), resonance_hz=3200.0),
    "fan": Machine(
        "fan", 1450 / 60, Bearing(8, 6.75, 28.5), resonance_hz=2500.0, base_1x_g=0.025, lines={6.0: 0.02}
    ),
    "compressor": Machine(
        "compressor",
        2900 / 60,
        Bearing(8, 11.1, 46.0),
        resonance_hz=4000.0,
        base_1x_g=0.05,
        noise_g=0.03,
        lines={2.0: 0.03},
    ),
    "conveyor": Machine(
        "conveyor",
        1450 / 60,
        Bearing(8, 12.7, 52.5),
        resonance_hz=1800.0,
        base_1x_g=0.02,
        lines={23.0: 0.02},
        electric_hz=0.0,
    ),
}

#: per axis: imbalance, misalignment, looseness, bearing gains
_AXIS_GAIN = {
    "x": (1.0, 0.4, 0.7, 1.0),
    "y": (1.0, 0.4, 1.0, 0.8),
    "z": (0.15, 1.0, 0.4, 0.45),
}
_AXIS_PHASE = {"x": 0.0, "y": -math.pi / 2, "z": 0.3}
#: g peak (impacts: g peak of one ring) at severity 1
IMBALANCE_G = 0.35
MISALIGNMENT_G = 0.3
LOOSENESS_G = 0.06
IMPACT_G = 4.0
SLIP = 0.005


def _rng(seed: int, *parts: object) -> np.random.Generator:
    key = zlib.crc32(repr(parts).encode())
    return np.random.default_rng([seed & 0xFFFFFFFF, key])


def _ring(machine: Machine, fs: float) -> Array:
    """One impact's response: a damped sine at the resonance, peak 1."""
    omega = 2 * math.pi * machine.resonance_hz
    length = int(min(fs * 0.05, math.ceil(fs * math.log(1000.0) / (machine.damping * omega)))) + 1
    t = np.arange(length) / fs
    wd = omega * math.sqrt(1 - machine.damping**2)
    kernel = np.exp(-machine.damping * omega * t) * np.sin(wd * t)
    peak = float(np.max(np.abs(kernel)))
    return kernel / peak if peak > 0 else kernel


def _impacts(
    machine: Machine, kind: str, severity: float, t: Array, fs: float, seed: int, t0: float
) -> Array:
    """The impulse train of a bearing defect, convolved with the structural resonance."""
    freqs = machine.defect_frequencies(t0)
    shaft = machine.shaft_hz_at(t0)
    rate = getattr(freqs, BEARING_FAULTS[kind])
    alternate = kind == "ball"
    if alternate:
        rate *= 2  # a spalled ball strikes the outer and the inner race once per spin each
    period = 1.0 / rate
    ring = _ring(machine, fs)
    n = len(t)
    start = t0 - len(ring) / fs  # impacts just before the block still ring into it
    k0 = math.floor(start / period)
    k1 = math.ceil((t0 + n / fs) / period)
    ks = np.arange(k0, k1 + 1)
    rng = _rng(seed, "impacts", kind, k0)
    times = ks * period + rng.normal(0.0, SLIP * period, len(ks))
    amps = np.full(len(ks), IMPACT_G * severity**2)  # an incipient spall barely rings
    if kind == "inner_race":  # the defect turns with the shaft through the load zone
        amps *= 0.55 + 0.45 * np.cos(2 * math.pi * shaft * times)
    elif alternate:
        amps *= np.where(ks % 2 == 0, 1.0, 0.6) * (0.6 + 0.4 * np.cos(2 * math.pi * freqs.ftf * times))
    elif kind == "cage":
        amps *= 0.5
    amps *= 1.0 + rng.normal(0.0, 0.1, len(ks))
    # place each impact on the sample grid of an extended block, then ring it
    pad = len(ring)
    train = np.zeros(n + pad)
    idx = np.rint((times - start) * fs).astype(np.int64)
    keep = (idx >= 0) & (idx < n + pad)
    np.add.at(train, idx[keep], amps[keep])
    return np.convolve(train, ring)[pad : pad + n]


def machine_waveform(
    machine: Machine,
    faults: Mapping[str, float],
    t_s: float,
    *,
    n: int = 8192,
    fs_hz: float = 25600.0,
    axis: str = "x",
    seed: int = 0,
) -> Array:
    """Acceleration in g on ``axis`` for ``n`` samples at ``fs_hz`` from simulated time ``t_s``.

    ``faults``: fault kind (``MACHINE_FAULTS``) -> severity 0..1. Deterministic in
    (``seed``, ``t_s``, ``axis``).
    """
    if axis not in AXES:
        raise ValueError(f"axis {axis!r} is not one of {AXES}")
    unknown = set(faults) - set(MACHINE_FAULTS)
    if unknown:
        raise ValueError(f"unknown machine fault(s) {sorted(unknown)} (known: {', '.join(MACHINE_FAULTS)})")
    if n < 1 or not fs_hz > 0:
        raise ValueError(f"a block needs n ≥ 1 samples and a positive rate, not n={n}, fs={fs_hz}")
    t = t_s + np.arange(n) / fs_hz
    fr = machine.shaft_hz_at(t_s)
    g_imb, g_mis, g_loose, g_bear = _AXIS_GAIN[axis]
    phase = _AXIS_PHASE[axis]
    fixed = _rng(seed, "phases", machine.kind)  # the machine's own phases: the same every block
    phases = fixed.uniform(0, 2 * math.pi, 32)

    def tone(multiple: float, amp: float, ph: float) -> Array:
        return amp * np.cos(2 * math.pi * multiple * fr * t + ph)

    x = tone(1, machine.base_1x_g * (0.3 + 0.7 * g_imb), phase + phases[0])
    x += tone(2, machine.base_1x_g * 0.3, phases[1]) + tone(3, machine.base_1x_g * 0.15, phases[2])
    for i, (multiple, amp) in enumerate(machine.lines.items()):
        x += tone(multiple, amp, phases[3 + i])
    if machine.electric_hz:
        x += 0.01 * np.cos(2 * math.pi * machine.electric_hz * t + phases[8])
    sev = {kind: float(np.clip(faults.get(kind, 0.0), 0.0, 1.0)) for kind in MACHINE_FAULTS}
    if sev["imbalance"]:
        x += tone(1, IMBALANCE_G * sev["imbalance"] * g_imb, phase + phases[0])
    if sev["misalignment"]:
        s = MISALIGNMENT_G * sev["misalignment"] * g_mis
        x += tone(1, 0.5 * s, phases[9]) + tone(2, s, phases[10]) + tone(3, 0.3 * s, phases[11])
    if sev["looseness"]:
        s = LOOSENESS_G * sev["looseness"] * g_loose
        for k in range(1, 11):
            x += tone(k, s / (1 + 0.1 * k), phases[11 + k])
            x += tone(k + 0.5, 0.5 * s / (1 + 0.1 * k), phases[21 + k % 10])
    noise_g = machine.noise_g
    for kind in BEARING_FAULTS:
        if sev[kind]:
            x += g_bear * _impacts(machine, kind, sev[kind], t, fs_hz, seed, t_s)
            noise_g += 0.1 * sev[kind] ** 2
    rng = _rng(seed, "noise", round(t_s * 1e6), axis)
    x += rng.normal(0.0, noise_g, n)
    return x
