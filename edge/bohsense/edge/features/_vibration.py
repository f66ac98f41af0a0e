"""Features of one vibration waveform block (acceleration in g), sensor-fault checks first.

``check_block`` decides whether a block can be trusted at all; only a block it passes
goes to ``block_features``. The formulas (``N`` samples at ``fs`` Hz, ``a`` in m/s² after
removing the mean, Hann window ``w``, ``X = rfft(a·w)``, ``f_k = k·fs/N``):

- one-sided power per bin ``P_k = 2|X_k|² / (N·Σw²)`` (so ``Σ P_k`` is the mean square,
  Parseval with the window's energy corrected);
- velocity RMS over 10–1000 Hz: ``sqrt(Σ_{10≤f_k≤1000} P_k / (2π f_k)²)`` × 1000 mm/s
  (integration in the frequency domain, band-limited: no drift from integrating offset
  or low-frequency noise in time);
- acceleration RMS and peak (g, time domain), crest factor = peak / RMS, kurtosis
  (Pearson: 3 for Gaussian noise, high for impacts);
- band energies: acceleration RMS (g) of each band between ``band_edges_hz``, from ``P_k``;
- shaft orders: the velocity RMS (mm/s) within ±2 bins of 1×, 2×, 3× shaft speed and the
  RMS sum of 4×–10× (looseness); shaft speed is the configured rpm, else the strongest
  velocity peak in ``rpm_range`` that stands 20× above the acceleration power of its
  ±20 bins (refined by parabolic interpolation), else none (no orders, no envelope);
- envelope: the block band-passed to ``envelope_band_hz`` (a structural resonance that
  bearing impacts ring), its analytic signal by FFT (positive frequencies doubled, the
  Hilbert transform), the magnitude's amplitude spectrum; for each defect frequency of
  the configured bearing (BPFO, BPFI, BSF (``2·BSF``-spaced impacts are reported at
  BSF's own harmonics), FTF) the energy of the peaks at harmonics 1–3 (highest bin within
  ±max(2 bins, 2 %)) relative to the local floor (median of the spectrum over 0.6–1.4× the
  harmonic, outside the peak window), in dB: ``10·log10(Σ peak² / Σ floor²)``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bohsense.edge.features._iso import zone_of

__all__ = [
    "Bearing",
    "BlockFeatures",
    "VibrationConfig",
    "block_features",
    "check_block",
    "defect_frequencies",
    "envelope_spectrum",
]

G = 9.80665
#: velocity RMS band of ISO 10816-3 / 20816-3
VELOCITY_BAND_HZ = (10.0, 1000.0)
#: accelerations beyond this are no accelerometer's on a store's machine (g)
ABSURD_G = 1000.0
#: the shortest and longest blocks that make a velocity band from 10 Hz (s) / any sense
MIN_BLOCK_S = 0.2
MIN_SAMPLES = 256
MAX_SAMPLES = 1 << 20
#: the sample rates a block may have at all: 10–1000 Hz needs a Nyquist above 1 kHz
MIN_FS_HZ = 2_560.0
MAX_FS_HZ = 200_000.0


@dataclass(frozen=True, slots=True)
class Bearing:
    """A rolling bearing: ``balls``, ball and pitch diameter (any one unit), contact angle."""

    balls: int
    ball_d: float
    pitch_d: float
    contact_deg: float = 0.0

    def __post_init__(self) -> None:
        if not 3 <= self.balls <= 100:
            raise ValueError(f"bearing balls must be 3..100, not {self.balls}")
        if not (
            math.isfinite(self.ball_d) and math.isfinite(self.pitch_d) and 0 < self.ball_d < self.pitch_d
        ):
            raise ValueError(f"bearing needs 0 < ball_d < pitch_d, not {self.ball_d} and {self.pitch_d}")
        if not 0 <= self.contact_deg < 90:
            raise ValueError(f"bearing contact_deg must be in 0..90, not {self.contact_deg}")


def defect_frequencies(shaft_hz: float, b: Bearing) -> dict[str, float]:
    """BPFO, BPFI, BSF, FTF (Hz) of ``b`` with a fixed outer race at ``shaft_hz``."""
    r = b.ball_d / b.pitch_d * math.cos(math.radians(b.contact_deg))
    return {
        "bpfo": b.balls / 2 * shaft_hz * (1 - r),
        "bpfi": b.balls / 2 * shaft_hz * (1 + r),
        "bsf": b.pitch_d / (2 * b.ball_d) * shaft_hz * (1 - r * r),
        "ftf": shaft_hz / 2 * (1 - r),
    }


@dataclass(frozen=True, slots=True)
class VibrationConfig:
    machine_class: str = "group2-rigid"
    #: the shaft speed, or None: estimated per block within ``rpm_range``
    rpm: float | None = None
    rpm_range: tuple[float, float] = (300.0, 3600.0)
    bearing: Bearing | None = None
    #: the sample rate the sensor is set to (None: any in MIN_FS_HZ..MAX_FS_HZ); a block
    #: more than 1 % off is a sensor fault
    sample_rate_hz: float | None = None
    #: the resonance band the envelope is taken in (None: 0.1–0.4 × fs)
    envelope_band_hz: tuple[float, float] | None = None
    band_edges_hz: tuple[float, ...] = (10.0, 100.0, 1000.0, 3000.0, 10000.0)
    #: a block whose standard deviation is below this is flat (stuck sensor), g
    min_std_g: float = 1e-5
    #: the sensor's full scale (g): samples at or beyond 99.9 % of it are clipped
    full_scale_g: float | None = None

    def __post_init__(self) -> None:
        zone_of(0.0, self.machine_class)  # raises for an unknown class
        lo, hi = self.rpm_range
        if not 0 < lo < hi:
            raise ValueError(f"rpm_range must be [low, high] with 0 < low < high, not {self.rpm_range}")
        if self.rpm is not None and not 0 < self.rpm <= 100_000:
            raise ValueError(f"rpm must be in (0, 100000], not {self.rpm}")
        if self.envelope_band_hz is not None and not 0 < self.envelope_band_hz[0] < self.envelope_band_hz[1]:
            raise ValueError(
                f"envelope_band_hz must be [low, high], 0 < low < high, not {self.envelope_band_hz}"
            )
        edges = self.band_edges_hz
        if len(edges) < 2 or any(not 0 < a < b for a, b in itertools.pairwise(edges)):
            raise ValueError(f"band_edges_hz must be 2+ increasing positive frequencies, not {edges}")
        if self.sample_rate_hz is not None and not MIN_FS_HZ <= self.sample_rate_hz <= MAX_FS_HZ:
            raise ValueError(
                f"sample_rate_hz must be in {MIN_FS_HZ:g}..{MAX_FS_HZ:g}, not {self.sample_rate_hz}"
            )
        if not self.min_std_g >= 0:
            raise ValueError(f"min_std_g must be >= 0, not {self.min_std_g}")
        if self.full_scale_g is not None and not self.full_scale_g > 0:
            raise ValueError(f"full_scale_g must be > 0, not {self.full_scale_g}")


def check_block(
    samples: Any, fs_hz: Any, cfg: VibrationConfig, *, lost: bool = False, clipped: Any = 0
) -> tuple[str, np.ndarray | None]:
    """("", the samples as float64) for a block features can be computed from, or
    (the sensor-fault reason, None). Never raises."""
    try:
        x = np.asarray(samples, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return "malformed_block", None
    if x.ndim != 1:
        return "malformed_block", None
    if x.size == 0:
        return "empty_block", None
    if lost:
        return "block_incomplete", None
    if not np.isfinite(x).all():
        return "non_finite", None
    if isinstance(fs_hz, bool) or not isinstance(fs_hz, int | float) or not math.isfinite(fs_hz):
        return "sample_rate_out_of_range", None
    fs = float(fs_hz)
    if not MIN_FS_HZ <= fs <= MAX_FS_HZ:
        return "sample_rate_out_of_range", None
    expected = cfg.sample_rate_hz
    if expected is not None and abs(fs - expected) > 0.01 * expected:
        return "sample_rate_mismatch", None
    if x.size < MIN_SAMPLES or x.size / fs < MIN_BLOCK_S:
        return "block_too_short", None
    if x.size > MAX_SAMPLES:
        return "block_too_long", None
    if isinstance(clipped, bool) or not isinstance(clipped, int) or clipped != 0:
        return "clipped", None
    peak = float(np.max(np.abs(x)))
    if peak > ABSURD_G:
        return "out_of_range", None
    if cfg.full_scale_g is not None and peak >= 0.999 * cfg.full_scale_g:
        return "clipped", None
    if not float(np.std(x)) > cfg.min_std_g:
        return "flat_signal", None
    if _isolated_spikes(x):
        return "spikes", None
    return "", x


#: a sample this many robust standard deviations out is a spike candidate…
SPIKE_SIGMAS = 10.0
#: …and a spike (a sensor fault) when both neighbours stand below this share of its size
SPIKE_NEIGHBOUR_SHARE = 0.2


def _isolated_spikes(x: np.ndarray) -> bool:
    """Whether ``x`` holds a single-sample spike: a sample far out (``SPIKE_SIGMAS`` robust
    standard deviations from the median) whose two neighbours are not (below
    ``SPIKE_NEIGHBOUR_SHARE`` of its distance). An accelerometer's signal is band-limited
    by its anti-alias filter, so a real impact rings over several samples (at 2.56 samples
    per cycle or more, a neighbour of a peak keeps a third of it or more); a lone sample
    out is an electrical spike, a sensor fault, never a bearing impact."""
    centre = float(np.median(x))
    d = np.abs(x - centre)
    sigma = 1.4826 * float(np.median(d))
    if not sigma > 0:
        return False
    far = np.flatnonzero(d[1:-1] > SPIKE_SIGMAS * sigma) + 1
    if far.size == 0:
        return False
    limit = SPIKE_NEIGHBOUR_SHARE * d[far]
    return bool(np.any((d[far - 1] < limit) & (d[far + 1] < limit)))


@dataclass(slots=True)
class BlockFeatures:
    velocity_rms_mm_s: float
    iso_zone: str
    acc_rms_g: float
    acc_peak_g: float
    crest_factor: float
    kurtosis: float
    bands_g: dict[tuple[float, float], float]
    shaft_hz: float | None
    orders_mm_s: dict[str, float]
    envelope_db: dict[str, float]

    def metrics(self, prefix: str) -> dict[str, float]:
        """The features as ``{metric name: value}``; names in docs/condition.md."""
        out = {
            f"{prefix}_velocity_rms_mm_s": self.velocity_rms_mm_s,
            f"{prefix}_iso_zone": float("ABCD".index(self.iso_zone) + 1),
            f"{prefix}_acc_rms_g": self.acc_rms_g,
            f"{prefix}_acc_peak_g": self.acc_peak_g,
            f"{prefix}_crest_factor": self.crest_factor,
            f"{prefix}_kurtosis": self.kurtosis,
        }
        for (lo, hi), v in self.bands_g.items():
            out[f"{prefix}_band_{lo:g}_{hi:g}hz_g"] = v
        if self.shaft_hz is not None:
            out[f"{prefix}_shaft_hz"] = self.shaft_hz
        for name, v in self.orders_mm_s.items():
            out[f"{prefix}_{name}_mm_s"] = v
        for name, v in self.envelope_db.items():
            out[f"{prefix}_env_{name}_db"] = v
        return out


def _peak_interp(spec: np.ndarray, i: int) -> float:
    """The fractional bin of the peak at ``i`` (parabola through three bins)."""
    if i <= 0 or i >= spec.size - 1:
        return float(i)
    a, b, c = spec[i - 1], spec[i], spec[i + 1]
    den = a - 2 * b + c
    return float(i) if den == 0 else i + 0.5 * float(a - c) / float(den)


@dataclass(frozen=True, slots=True)
class _Grid:
    """What depends only on the block length and the sample rate (kept for the next block)."""

    window: np.ndarray
    #: the power scale of the window: 2 / (N Σw²)
    scale: float
    freqs: np.ndarray
    #: 1 / (2πf)², 0 at DC
    inv_omega2: np.ndarray
    velocity: slice
    bands: tuple[tuple[tuple[float, float], slice], ...]


_GRIDS: dict[tuple[int, float, tuple[float, ...]], _Grid] = {}


def _bins(freqs: np.ndarray, lo: float, hi: float, inclusive: bool = True) -> slice:
    a = int(np.searchsorted(freqs, lo, side="left"))
    b = int(np.searchsorted(freqs, hi, side="right" if inclusive else "left"))
    return slice(a, b)


def _grid(n: int, fs: float, edges: tuple[float, ...]) -> _Grid:
    key = (n, fs, edges)
    g = _GRIDS.get(key)
    if g is None:
        if len(_GRIDS) > 64:
            _GRIDS.clear()
        w = np.hanning(n)
        freqs = np.fft.rfftfreq(n, 1.0 / fs)
        inv = np.zeros_like(freqs)
        inv[1:] = 1.0 / (2 * math.pi * freqs[1:]) ** 2
        kept = [e for e in edges if e <= fs / 2]
        bands = tuple(((a, b), _bins(freqs, a, b, inclusive=False)) for a, b in itertools.pairwise(kept))
        g = _GRIDS[key] = _Grid(
            w, 2.0 / (n * float((w * w).sum())), freqs, inv, _bins(freqs, *VELOCITY_BAND_HZ), bands
        )
    return g


def block_features(x: np.ndarray, fs: float, cfg: VibrationConfig) -> BlockFeatures:
    """The features of a block ``check_block`` passed (see the module doc)."""
    n = x.size
    x = x - x.mean()
    x2 = x * x
    m2 = float(x2.mean())
    acc_rms = math.sqrt(m2)
    peak = float(np.max(np.abs(x)))
    # sums, not np.dot: a BLAS dot of a long vector may fan out to threads (milliseconds
    # of waiting on a busy gateway for a microsecond's work)
    kurt = float((x2 * x2).sum()) / n / (m2 * m2) if m2 > 0 else 3.0
    crest = peak / acc_rms if acc_rms > 0 else 0.0

    g = _grid(n, fs, cfg.band_edges_hz)
    df = fs / n
    spectrum = np.fft.rfft(x * g.window)
    power = (g.scale * G * G) * (spectrum.real**2 + spectrum.imag**2)  # (m/s²)² per bin
    power[0] = 0.0
    vpower = power * g.inv_omega2  # (m/s)² per bin
    velocity = math.sqrt(float(vpower[g.velocity].sum())) * 1000.0
    bands = {edges: math.sqrt(float(power[sel].sum())) / G for edges, sel in g.bands}

    shaft = _shaft_hz(g.freqs, power, vpower, df, cfg)
    orders: dict[str, float] = {}
    if shaft is not None:

        def tone(f: float) -> float:
            k = round(f / df)
            if k < 1 or k >= power.size - 1:
                return 0.0
            return math.sqrt(float(vpower[max(1, k - 2) : k + 3].sum())) * 1000.0

        orders["1x"] = tone(shaft)
        orders["2x"] = tone(2 * shaft)
        orders["3x"] = tone(3 * shaft)
        orders["harm_4_10x"] = math.sqrt(sum(tone(h * shaft) ** 2 for h in range(4, 11)))

    env: dict[str, float] = {}
    if cfg.bearing is not None and shaft is not None:
        env = _envelope_db(x, fs, shaft, cfg)
    return BlockFeatures(
        velocity_rms_mm_s=velocity,
        iso_zone=zone_of(velocity, cfg.machine_class),
        acc_rms_g=acc_rms,
        acc_peak_g=peak,
        crest_factor=crest,
        kurtosis=kurt,
        bands_g=bands,
        shaft_hz=shaft,
        orders_mm_s=orders,
        envelope_db=env,
    )


def _shaft_hz(
    freqs: np.ndarray, power: np.ndarray, vpower: np.ndarray, df: float, cfg: VibrationConfig
) -> float | None:
    if cfg.rpm is not None:
        return cfg.rpm / 60.0
    lo, hi = cfg.rpm_range[0] / 60.0, cfg.rpm_range[1] / 60.0
    sel = np.flatnonzero((freqs >= lo) & (freqs <= hi))
    sel = sel[(sel >= 1) & (sel < vpower.size - 1)]
    if sel.size < 3:
        return None
    # local maxima only, the strongest in velocity first; a tone must stand 20× above the
    # acceleration floor of its neighbourhood (flat for noise, where velocity falls as 1/f²)
    peaks = sel[(power[sel] >= power[sel - 1]) & (power[sel] >= power[sel + 1])]
    for i in peaks[np.argsort(vpower[peaks])[::-1][:5]]:
        floor = float(np.median(power[max(1, i - 20) : i + 21]))
        if power[i] > 20 * floor:
            return _peak_interp(vpower, int(i)) * df
    return None


def envelope_spectrum(x: np.ndarray, fs: float, band: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The amplitude spectrum (Hann) of the envelope of ``x`` band-passed to ``band``.

    The analytic signal of the band is made from the band's positive-frequency bins alone,
    moved down to 0 Hz (the magnitude does not change with a frequency shift) in an
    inverse FFT of twice the band's width: the envelope at a lower rate, its spectrum on
    the same frequency grid as the block's (``fs / N``)."""
    n = x.size
    spec = np.fft.rfft(x)
    df = fs / n
    k0 = max(1, math.ceil(band[0] / df))
    k1 = min(spec.size - 1, math.floor(band[1] / df))
    width = max(1, k1 - k0 + 1)
    m = min(n, 1 << max(4, math.ceil(math.log2(2 * width))))
    z = np.zeros(m, dtype=np.complex128)
    z[: min(width, m)] = 2 * spec[k0 : k0 + min(width, m)]
    envelope = np.abs(np.fft.ifft(z)) * (m / n)
    envelope -= envelope.mean()
    w = np.hanning(m)
    amp = np.abs(np.fft.rfft(envelope * w)) * 2 / w.sum()
    return np.arange(amp.size) * df, amp


def _envelope_db(x: np.ndarray, fs: float, shaft: float, cfg: VibrationConfig) -> dict[str, float]:
    assert cfg.bearing is not None
    band = cfg.envelope_band_hz or (0.1 * fs, 0.4 * fs)
    band = (band[0], min(band[1], 0.49 * fs))
    if not band[0] < band[1]:
        return {}
    _freqs, amp = envelope_spectrum(x, fs, band)
    df = fs / x.size
    top = amp.size - 1
    out: dict[str, float] = {}
    for name, fd in defect_frequencies(shaft, cfg.bearing).items():
        peaks = floors = 0.0
        for h in (1, 2, 3):
            target = h * fd
            tol = max(2 * df, 0.02 * target)
            a, b = math.ceil((target - tol) / df), math.floor((target + tol) / df)
            lo, hi = math.ceil(0.6 * target / df), math.floor(1.4 * target / df)
            if b >= top or a > b or a < 1:
                continue
            around = np.concatenate((amp[max(lo, 1) : a], amp[b + 1 : min(hi, top) + 1]))
            if around.size < 5:
                continue
            p = float(np.max(amp[a : b + 1]))
            fl = float(np.median(around))
            peaks += p * p
            floors += fl * fl
        if floors > 0:
            out[name] = 10 * math.log10(max(peaks, 1e-300) / floors)
    return out
