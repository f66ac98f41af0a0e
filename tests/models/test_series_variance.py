"""The variance component's burst of large steps: a modest variance increase is seen
within a few points where the step-size ratio alone stays quiet, a lone spike is no
burst, and a series that often makes large steps is judged by its own habits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bohsense.models.detect import VarianceDetector
from bohsense.models.detect._series import _log_binomial_tail


def _components(values: list[float]) -> list[dict[str, float]]:
    det = VarianceDetector()
    out = []
    for v in values:
        out.append(det.components({"value": v}))
        det.learn_one({"value": v})
    return out


def test_binomial_tail_matches_the_sum_of_terms() -> None:
    n, p = 25, 0.02
    for k in (0, 2, 5, 25):
        direct = sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))
        assert math.exp(_log_binomial_tail(n, k, p)) == pytest.approx(direct, rel=1e-9)
    assert _log_binomial_tail(25, 20, 1e-6) < -200  # no underflow to -inf
    assert math.isfinite(_log_binomial_tail(25, 20, 1e-6))


def test_a_threefold_variance_increase_is_seen_within_30_points() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(900)
    x[600:] += 2.0 * rng.standard_normal(300)  # the standard deviation grows 2.2 times
    comps = _components((1e3 * x + 7e4).tolist())
    assert max(c["variance"] for c in comps[600:630]) > 0.9
    assert max(c["variance"] for c in comps[300:600]) < 0.5


def test_a_lone_spike_is_no_burst() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal(900)
    x[600] += 12.0
    comps = _components(x.tolist())
    assert max(c["variance"] for c in comps[590:700]) < 0.2
    x[605] -= 12.0  # two spikes: four large steps, two left once the largest are set aside
    comps = _components(x.tolist())
    assert max(c["variance"] for c in comps[590:700]) < 0.2


def test_a_series_of_frequent_large_steps_is_judged_by_its_own_habits() -> None:
    # heavy-tailed steps (Student t, 2 degrees of freedom): large steps are normal here
    rng = np.random.default_rng(6)
    x = np.cumsum(rng.standard_t(2, 3000)) * 0.01
    comps = _components(x.tolist())
    alarmed = sum(c["variance"] >= 0.5 for c in comps[300:])
    assert alarmed / 2700 < 0.01
