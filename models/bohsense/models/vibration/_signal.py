"""Spectral features that do not depend on the sampling rate or the bearing: peak
heights in dB above the local spectral baseline, energy shares, kurtosis, crest factor;
and the steps of envelope analysis (pre-whitening, band selection, squared envelope)."""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import solve_toeplitz
from scipy.signal import lfilter
from scipy.stats import kurtosis

__all__ = [
    "amplitude_spectrum",
    "ar_residual",
    "envelope_spectrum",
    "kurtogram_band",
    "peak_db",
    "resonance_band",
    "squared_envelope_spectrum",
    "time_features",
]


def amplitude_spectrum(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Single-sided amplitude spectrum (Hann window, amplitude-corrected)."""
    w = np.hanning(x.size)
    spec = np.abs(np.fft.rfft((x - x.mean()) * w)) * 2 / w.sum()
    return np.fft.rfftfreq(x.size, 1 / fs), spec


def time_features(x: np.ndarray) -> dict[str, float]:
    x = x - x.mean()
    rms = float(np.sqrt(np.mean(x * x)))
    return {
        "rms": rms,
        "kurtosis": float(kurtosis(x, fisher=False)) if rms > 0 else 3.0,
        "crest_factor": float(np.max(np.abs(x)) / rms) if rms > 0 else 0.0,
    }


def ar_residual(x: np.ndarray, fs: float, history_s: float = 0.0025) -> tuple[np.ndarray, int]:
    """Pre-whitening by linear prediction (Sawalhi and Randall): the residual of an
    autoregressive model keeps what cannot be predicted from the recent past (impacts)
    and removes what can (shaft and mesh tones, the resonances' colouring of the noise).
    The model looks back ``history_s`` seconds (shorter than the gap between impacts of
    any defect below 400 Hz), so its order scales with the sampling rate; Yule-Walker
    from the autocorrelation. Returns (residual, order)."""
    x = x - x.mean()
    n = x.size
    p = min(max(2, round(history_s * fs)), n // 20)
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(np.abs(spectrum) ** 2)[: p + 1] / n
    if acf[0] <= 0:
        return x, 0
    try:
        a = solve_toeplitz(acf[:p], acf[1 : p + 1])
    except (np.linalg.LinAlgError, ValueError):
        return x, 0
    e = lfilter(np.r_[1.0, -a], [1.0], x)[p:]
    if not np.all(np.isfinite(e)) or float(np.std(e)) == 0.0:
        return x, 0
    return e, p


def _bands(fs: float, lowest: float, levels: int = 3) -> list[tuple[float, float]]:
    """Candidate resonance bands: halves, quarters, eighths (…) of the usable range, each
    also shifted by half its width (a coarse kurtogram)."""
    top = 0.45 * fs
    out = []
    for level in range(1, levels + 1):
        width = (top - lowest) / 2**level
        start = lowest
        while start + width <= top + 1e-9:
            out.append((start, start + width))
            start += width / 2
    return out


def _envelopes(x: np.ndarray, fs: float, bands: list[tuple[float, float]]) -> list[np.ndarray]:
    """Envelopes of ``x`` band-passed to each band: one FFT, then per band the analytic
    signal of the band (its positive frequencies doubled) by one inverse FFT."""
    spectrum = np.fft.fft(x - x.mean())
    freqs = np.fft.fftfreq(x.size, 1 / fs)
    out = []
    for lo, hi in bands:
        z = np.where((freqs >= lo) & (freqs <= hi), 2 * spectrum, 0)
        out.append(np.abs(np.fft.ifft(z)))
    return out


def resonance_band(x: np.ndarray, fs: float, lowest: float) -> tuple[float, float, float]:
    """The band whose envelope has the highest kurtosis (impacts ring a resonance; noise
    and shaft tones do not): (low Hz, high Hz, kurtosis)."""
    bands = _bands(fs, lowest)
    kurt = [float(kurtosis(env, fisher=False)) for env in _envelopes(x, fs, bands)]
    i = int(np.argmax(kurt))
    return bands[i][0], bands[i][1], kurt[i]


def kurtogram_band(x: np.ndarray, fs: float, lowest: float) -> tuple[float, float, float]:
    """As :func:`resonance_band` on a finer tree (down to sixteenths of the range): the
    band of highest spectral kurtosis, in the manner of Antoni's fast kurtogram."""
    bands = _bands(fs, lowest, levels=4)
    kurt = [float(kurtosis(env, fisher=False)) for env in _envelopes(x, fs, bands)]
    i = int(np.argmax(kurt))
    return bands[i][0], bands[i][1], kurt[i]


def envelope_spectrum(x: np.ndarray, fs: float, band: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    return amplitude_spectrum(_envelopes(x, fs, [band])[0], fs)


def squared_envelope_spectrum(
    x: np.ndarray, fs: float, band: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Spectrum of the squared envelope of ``x`` in ``band``: for a cyclostationary
    impact train its lines sit at the repetition rate and its harmonics, with the
    modulation (load zone, shaft, cage) as sidebands (Randall and Antoni)."""
    env = _envelopes(x, fs, [band])[0]
    return amplitude_spectrum(env * env, fs)


def peak_db(freqs: np.ndarray, spec: np.ndarray, target: float, tol: float) -> tuple[float, float]:
    """(frequency, dB above baseline) of the highest bin within ``target ± tol``; the
    baseline is the median of the spectrum from 0.6 to 1.4 × target outside that window."""
    df = freqs[1] - freqs[0]
    tol = max(tol, 1.5 * df)
    near = (freqs >= target - tol) & (freqs <= target + tol)
    around = (freqs >= 0.6 * target) & (freqs <= 1.4 * target) & ~near
    if not near.any() or around.sum() < 5:
        return target, 0.0
    i = int(np.argmax(np.where(near, spec, -1.0)))
    base = float(np.median(spec[around]))
    if base <= 0:
        return float(freqs[i]), 0.0
    return float(freqs[i]), float(20 * math.log10(max(spec[i], 1e-300) / base))
