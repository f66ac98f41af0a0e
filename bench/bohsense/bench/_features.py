"""``bohsense bench features``: waveform samples per second through the gateway's feature
extraction, against a numpy-FFT-only baseline, in the same run, on one core.

The blocks: ``blocks`` single-axis blocks of ``samples`` (default 8192) at 25.6 kHz in g, as
a condition sensor sends them: a 24.7 Hz shaft with 2× and 3×, broadband noise and, in
every other block, outer-race impacts ringing a 4 kHz resonance. Three paths over the same
blocks, alternating, best round kept:

- **baseline**: ``numpy.fft.rfft`` of each block and nothing else: the least any spectral
  feature costs (no window, no checks, no integration, no envelope);
- **features**: ``check_block`` + ``block_features`` with a bearing configured and the shaft
  speed estimated from the spectrum (the most expensive configuration);
- **interpreter**: ``ConditionInterpreter.observe`` of each block as a ``WaveformBlock``:
  the features and the readings, events, alarm state and snapshot ring around them.

The process is pinned to one CPU (``sched_setaffinity``) where the OS allows it, so "per
core" means one core. Sensors per core: a 3-axis sensor at 25.6 kHz read continuously is
76,800 samples/s; read as one block per axis every ``block_every_s`` seconds it is
3 × ``samples`` / ``block_every_s`` samples/s.
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any

import numpy as np

from bohsense.edge.features import Bearing, VibrationConfig, block_features, check_block, defect_frequencies
from bohsense.edge.interpreters import ConditionConfig, ConditionInterpreter, DeviceAttached, WaveformBlock

__all__ = ["make_blocks", "run_features"]

FS = 25_600.0
AXES = 3
BEARING = Bearing(9, 7.94, 39.04)


def make_blocks(blocks: int, samples: int, seed: int = 5) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / FS
    fr = 24.7
    bpfo = defect_frequencies(fr, BEARING)["bpfo"]
    ring = np.exp(-t[:400] * 1500) * np.sin(2 * math.pi * 4000 * t[:400])
    out = []
    for i in range(blocks):
        x = sum(
            a * np.sin(2 * math.pi * k * fr * t + rng.uniform(0, 6))
            for k, a in ((1, 0.08), (2, 0.03), (3, 0.01))
        )
        x = x + rng.normal(0.0, 0.02, samples)
        if i % 2:
            impulses = np.zeros(samples)
            idx = (np.arange(int(t[-1] * bpfo) + 1) / bpfo * FS).astype(int)
            impulses[idx[idx < samples]] = 1.0
            x = x + 0.1 * np.convolve(impulses, ring)[:samples]
        out.append(np.asarray(x, dtype=np.float64))
    return out


def _pin() -> str:
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
        return f"cpu {cpus[-1]}"
    except (AttributeError, OSError):
        return "not pinned"


def run_features(
    blocks: int = 120, samples: int = 8192, rounds: int = 3, block_every_s: float = 10.0
) -> dict[str, Any]:
    pinned = _pin()
    data = make_blocks(blocks, samples)
    cfg = VibrationConfig(bearing=BEARING, rpm_range=(600, 3000))
    interp = ConditionInterpreter(ConditionConfig(vibration=cfg))
    interp.observe(DeviceAttached("bench-1", "condition", ()))
    obs = [
        WaveformBlock("bench-1", "x", i, 1_700_000_000_000_000_000 + i * 10**9, FS, x)
        for i, x in enumerate(data)
    ]

    def baseline() -> None:
        for x in data:
            np.fft.rfft(x)

    def features() -> None:
        for x in data:
            reason, y = check_block(x, FS, cfg)
            assert not reason, reason
            assert y is not None
            block_features(y, FS, cfg)

    readings = 0

    def interpreter() -> None:
        nonlocal readings
        for o in obs:
            readings += len(interp.observe(o).readings)

    paths = {"baseline": baseline, "features": features, "interpreter": interpreter}
    for path in paths.values():  # warm up: FFT plans, the grids' cache, the interpreter's state
        path()
    readings = 0
    best: dict[str, float] = {k: math.inf for k in paths}
    per_round: list[dict[str, float]] = []
    total = blocks * samples
    for r in range(rounds):
        order = list(paths) if r % 2 == 0 else list(reversed(paths))
        got: dict[str, float] = {}
        for name in order:
            t0 = time.perf_counter()
            paths[name]()
            got[name] = time.perf_counter() - t0
            best[name] = min(best[name], got[name])
        per_round.append({k: round(total / v) for k, v in got.items()})
        print(
            f"round {r + 1}: " + ", ".join(f"{k} {total / v / 1e6:.2f} M samples/s" for k, v in got.items()),
            file=sys.stderr,
        )
    rate = {k: total / v for k, v in best.items()}
    continuous = AXES * FS
    duty = AXES * samples / block_every_s
    return {
        "blocks": blocks,
        "samples_per_block": samples,
        "fs_hz": FS,
        "rounds": rounds,
        "pinned": pinned,
        "baseline_samples_per_s": round(rate["baseline"]),
        "features_samples_per_s": round(rate["features"]),
        "interpreter_samples_per_s": round(rate["interpreter"]),
        "features_vs_baseline": round(rate["features"] / rate["baseline"], 4),
        "interpreter_ms_per_block": round(best["interpreter"] / blocks * 1000, 3),
        "readings_per_block": round(readings / (blocks * rounds), 1),
        "sensors_per_core_continuous": round(rate["interpreter"] / continuous, 1),
        "block_every_s": block_every_s,
        "sensors_per_core_at_duty": int(rate["interpreter"] / duty),
        "per_round": per_round,
    }
