"""Remaining-life model judged on C-MAPSS FD001 with whole units held out.

5 folds by unit (a unit's cycles are all on one side); each held-out unit is cut
``cuts`` times at a random cycle, keeping at least 31 cycles seen and a true remaining
life between 5 and 150 cycles, as in the published test set; the model sees only the
cycles up to the cut. RMSE is given against the true remaining life and against it
capped at the model's cap (125), with a constant-prediction baseline fitted on the
training folds, and the share of true values inside the 10–90 % band.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bohsense.models.rul import RulModel, Table, read_table


def _subset(t: Table, mask: np.ndarray) -> Table:
    return Table(t.units[mask], t.cycles[mask], t.features[mask], t.names)


def evaluate(path: str, *, seed: int = 1000, folds: int = 5, cuts: int = 5) -> dict[str, Any]:
    t0 = time.perf_counter()
    table = read_table(path)
    rng = np.random.default_rng(seed)
    units = np.array(table.unit_ids())
    rng.shuffle(units)
    truth: list[float] = []
    pred: list[float] = []
    base: list[float] = []
    inside: list[bool] = []
    width: list[float] = []
    for k in range(folds):
        held = set(units[k::folds].tolist())
        train = _subset(table, ~np.isin(table.units, list(held)))
        model = RulModel(settings=3, seed=seed).fit(train)
        life = {u: int(train.cycles[train.units == u].max()) for u in train.unit_ids()}
        constant = float(
            np.mean([min(life[u] - c, 125) for u, c in zip(train.units, train.cycles, strict=True)])
        )
        rows = []
        for u in sorted(held):
            n = int(table.cycles[table.units == u].max())
            for j in range(cuts):
                rul = int(rng.integers(5, max(6, min(150, n - 31) + 1)))
                cut = n - rul
                keep = (table.units == u) & (table.cycles <= cut)
                part = _subset(table, keep)
                # one pseudo-unit per cut, so that all cuts are predicted in one call
                rows.append(Table(part.units * 0 + (u * 100 + j), part.cycles, part.features, part.names))
                truth.append(float(rul))
        test = Table(
            np.concatenate([r.units for r in rows]),
            np.concatenate([r.cycles for r in rows]),
            np.vstack([r.features for r in rows]),
            table.names,
        )
        band = model.predict_interval(test)
        for lo, med, hi in band.values():
            pred.append(med)
            base.append(constant)
            width.append(hi - lo)
            inside.append(False)  # filled below, in the same order as truth
        start = len(truth) - len(band)
        for i, (lo, _, hi) in enumerate(band.values()):
            inside[start + i] = lo <= min(truth[start + i], 125.0) <= hi
    y, p, b = np.array(truth), np.array(pred), np.array(base)
    yc = np.minimum(y, 125.0)

    def rmse(a: np.ndarray, c: np.ndarray) -> float:
        return round(float(np.sqrt(np.mean((a - c) ** 2))), 2)

    near = y <= 125
    return {
        "units": len(units),
        "folds": folds,
        "test_cuts": len(y),
        "rmse_vs_true": rmse(p, y),
        "rmse_vs_capped_true": rmse(p, yc),
        "rmse_true_rul_le_125": rmse(p[near], y[near]),
        "baseline_constant_rmse_vs_capped_true": rmse(b, yc),
        "band_10_90_coverage_of_capped_true": round(float(np.mean(inside)), 3),
        "band_10_90_mean_width": round(float(np.mean(width)), 1),
        "seconds": round(time.perf_counter() - t0, 1),
    }
