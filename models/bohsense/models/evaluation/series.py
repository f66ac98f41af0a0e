"""Anomaly scoring judged on generated series with injected anomalies.

An event is detected when a score at or above the threshold falls within its window
(spike: the point itself or the next two; others: from the start up to ``late`` points
later). False alarms are alarmed points outside every event window and its settling
margin, counted per 1,000 such points; episodes are runs of alarmed points.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bohsense.models.detect import SeriesDetector
from bohsense.models.synthetic import BASES, KINDS, anomaly_series


def score_series(values: np.ndarray) -> np.ndarray:
    det = SeriesDetector()
    out = np.empty(values.size)
    for i, v in enumerate(values.tolist()):
        x = {"value": v}
        out[i] = det.score_one(x)
        det.learn_one(x)
    return out


def zscore_baseline(values: np.ndarray, window: int = 96, limit: float = 4.0) -> np.ndarray:
    """The usual do-it-yourself detector, for comparison: 1 where the value lies more
    than ``limit`` standard deviations from the mean of the previous ``window`` values."""
    from numpy.lib.stride_tricks import sliding_window_view

    out = np.zeros(values.size)
    if values.size <= window:
        return out
    past = sliding_window_view(values[:-1], window)
    mean, std = past.mean(axis=1), past.std(axis=1)
    z = np.abs(values[window:] - mean) / np.where(std > 0, std, np.inf)
    out[window:] = (z > limit).astype(float)
    return out


def evaluate(seeds: range, *, n: int = 4000, threshold: float = 0.5, late: int = 30) -> dict[str, Any]:
    """The detector's figures, and the z-score baseline's beside them."""
    result = _evaluate(seeds, score_series, n=n, threshold=threshold, late=late)
    base = _evaluate(seeds, zscore_baseline, n=n, threshold=threshold, late=late)
    result["baseline_zscore_96_4sigma"] = {
        k: base[k] for k in ("recall", "false_alarm_points_per_1000", "false_alarm_episodes_per_10000")
    }
    return result


def _evaluate(
    seeds: range, scorer: Callable[[np.ndarray], np.ndarray], *, n: int, threshold: float, late: int
) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    hits: dict[str, list[int]] = {k: [] for k in KINDS}
    delays: dict[str, list[int]] = {k: [] for k in KINDS}
    fp_points = normal_points = episodes = 0
    per_base: dict[str, list[int]] = {b: [0, 0, 0, 0] for b in BASES}  # hits, events, fp, normal
    aucs = []
    seconds = 0.0
    for seed in seeds:
        s = anomaly_series(seed, n)
        t0 = time.perf_counter()
        scores = scorer(s.values)
        seconds += time.perf_counter() - t0
        alarm = scores >= threshold
        margin = np.zeros(n, bool)
        truth = np.zeros(n, bool)
        for e in s.events:
            hi = e.start + 3 if e.kind == "spike" else e.start + late
            win = alarm[e.start : hi]
            hit = bool(win.any())
            hits[e.kind].append(int(hit))
            if hit:
                delays[e.kind].append(int(np.argmax(win)))
            per_base[s.base][0] += int(hit)
            per_base[s.base][1] += 1
            truth[e.start : e.end] = True
            # the window the detector compares against still holds the anomaly for a while
            margin[max(0, e.start - 1) : min(n, e.end + 130)] = True
        clean = ~margin
        clean[:24] = False  # warm-up
        fp = alarm & clean
        fp_points += int(fp.sum())
        normal_points += int(clean.sum())
        episodes += int(np.sum(fp[1:] & ~fp[:-1]) + fp[0])
        per_base[s.base][2] += int(fp.sum())
        per_base[s.base][3] += int(clean.sum())
        if truth.any():
            keep = clean | truth
            aucs.append(float(roc_auc_score(truth[keep], scores[keep])))
    return {
        "series": len(seeds),
        "points_per_series": n,
        "threshold": threshold,
        "recall": {k: round(float(np.mean(v)), 3) if v else None for k, v in hits.items()},
        "events": {k: len(v) for k, v in hits.items()},
        "median_delay_points": {k: float(np.median(v)) if v else None for k, v in delays.items()},
        "false_alarm_points_per_1000": round(1000 * fp_points / max(normal_points, 1), 2),
        "false_alarm_episodes_per_10000": round(10000 * episodes / max(normal_points, 1), 2),
        "point_auc_mean": round(float(np.mean(aucs)), 3),
        "per_base": {
            b: {"recall": round(h / e, 3) if e else None, "fa_per_1000": round(1000 * f / max(c, 1), 2)}
            for b, (h, e, f, c) in per_base.items()
        },
        "rows_per_second": round(len(seeds) * n / seconds),
    }
