"""Spectral features that do not depend on the sampling rate or the bearing: peak
heights in dB above the local spectral baseline, energy shares, kurtosis, crest factor."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import kurtosis

__all__ = ["amplitude_spectrum", "envelope_spectrum", "peak_db", "resonance_band", "time_features"]


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


def _bands(fs: float, lowest: float) -> list[tuple[float, float]]:
    """Candidate resonance bands: halves, quarters and eighths of the usable range, each
    also shifted by half its width (a coarse kurtogram)."""
    top = 0.45 * fs
    out = []
    for level in (1, 2, 3):
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


def envelope_spectrum(x: np.ndarray, fs: float, band: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    return amplitude_spectrum(_envelopes(x, fs, [band])[0], fs)


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
