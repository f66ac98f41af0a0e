"""Lead time, review calendar and pack rounding: properties over many values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bohsense.models.replenish import PolicyError, PolicyTimes, replay, round_order


@given(st.floats(-50, 500, allow_nan=False), st.integers(1, 48), st.integers(0, 200))
def test_round_order_is_the_least_whole_pack_quantity_covering_need_and_minimum(
    shortfall: float, pack: int, min_order: int
) -> None:
    q = round_order(shortfall, pack, min_order)
    if shortfall <= 0:
        assert q == 0
        return
    need = max(math.ceil(shortfall - 1e-9), min_order)
    assert q % pack == 0
    assert q >= need
    assert q >= shortfall - 1e-9
    assert q - pack < need  # one pack fewer would not do


def test_round_order_refuses_impossible_sizes() -> None:
    with pytest.raises(PolicyError, match="pack size 0"):
        round_order(3, 0)
    with pytest.raises(PolicyError, match="minimum order -1"):
        round_order(3, 1, -1)


@given(st.integers(0, 30), st.integers(1, 30), st.integers(0, 400), st.integers(1, 400))
def test_review_calendar_and_arrivals(lead: int, review: int, first: int, n: int) -> None:
    t = PolicyTimes(lead, review, first=first)
    days = [d for d in range(first, first + n) if t.is_review(d)]
    assert days[0] == first
    assert len(days) == math.ceil(n / review)
    assert all(b - a == review for a, b in itertools.pairwise(days))
    assert not any(t.is_review(d) for d in range(first))
    assert t.protection_days == lead + review
    for d in range(max(0, first - 3), first + n, 7):
        nxt = t.next_review(d)
        assert nxt >= d
        assert t.is_review(nxt)
        assert not any(t.is_review(x) for x in range(d, nxt))
        assert t.arrival(d) == d + lead


def test_policy_times_refuse_impossible_values() -> None:
    with pytest.raises(PolicyError, match="lead time -1"):
        PolicyTimes(-1, 1)
    with pytest.raises(PolicyError, match="review period 0"):
        PolicyTimes(1, 0)


class _Fixed:
    """A policy at the seam: a constant order-up-to level."""

    method = "fixed"

    def __init__(self, level: int) -> None:
        self.level_value = level

    def observe(self, sold: float, weekday: int) -> None:
        pass

    def level(self, weekday: int) -> int:
        return self.level_value


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 6), st.integers(1, 7), st.integers(1, 9), st.integers(28, 40))
def test_a_level_of_exactly_the_protection_interval_demand_never_runs_out(
    lead: int, review: int, daily: int, warmup: int
) -> None:
    """Constant demand d: S = d·(L+R) covers every day, one unit less runs out — which is
    what the arrival day (t + L) and the review calendar together must give."""
    values = np.full(warmup + 60, float(daily))
    wd = np.arange(len(values)) % 7
    times = PolicyTimes(lead, review, first=warmup)
    enough = replay(values, wd, _Fixed(daily * (lead + review)), times, warmup)
    assert enough.sold == enough.demanded == daily * 60
    assert enough.stockout_days == 0
    short = replay(values, wd, _Fixed(daily * (lead + review) - 1), times, warmup)
    assert short.sold < short.demanded
    assert short.stockout_days > 0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 4), st.integers(1, 5), st.integers(1, 12), st.integers(0, 30), st.integers(0, 2**16))
def test_replayed_orders_are_whole_packs_on_review_days(
    lead: int, review: int, pack: int, min_order: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    values = rng.poisson(3.0, 100).astype(float)
    wd = np.arange(100) % 7
    times = PolicyTimes(lead, review, first=30)
    tally = replay(values, wd, _Fixed(12), times, 30, pack=pack, min_order=min_order)
    assert tally.orders <= math.ceil(70 / review)
    if tally.orders:
        assert tally.units_ordered % pack == 0
        assert tally.units_ordered >= tally.orders * max(min_order, 1)
    # nothing sold that never arrived: what was on the shelf at the start plus orders
    assert tally.sold <= 12 + tally.units_ordered
    assert tally.days == 70
    assert tally.sold <= tally.demanded
