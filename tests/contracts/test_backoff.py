"""Reconnect and retry backoff, one for edge and cloud: exponential, capped and jittered."""

from __future__ import annotations

import random

import pytest

from bohsense.contracts.backoff import Backoff, backoff_delay


def test_backoff_doubles_is_capped_and_jittered() -> None:
    rng = random.Random(1)
    for attempt, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (10, 30.0), (50, 30.0)]:
        delays = [backoff_delay(attempt, 0.5, 30.0, rng) for _ in range(200)]
        assert all(cap / 2 <= d <= cap for d in delays)
        assert max(delays) - min(delays) > cap / 4, "jitter spreads reconnecting gateways"


def test_the_stateful_form_counts_attempts_and_starts_over_on_reset() -> None:
    b = Backoff(0.1, 1.0, random.Random(2))
    delays = [b.next() for _ in range(6)]
    assert b.attempt == 6
    assert 0.05 <= delays[0] <= 0.1
    assert all(0.5 <= d <= 1.0 for d in delays[4:]), "capped at the maximum"
    b.reset()
    assert b.attempt == 0
    assert b.next() <= 0.1


def test_nonsense_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="initial"):
        Backoff(0, 1)
    with pytest.raises(ValueError, match="initial"):
        Backoff(2, 1)
