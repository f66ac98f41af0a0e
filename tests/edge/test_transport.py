"""Reconnect backoff: exponential, capped and jittered."""

from __future__ import annotations

import random

from bohsense.edge.transport import backoff_delay


def test_backoff_doubles_is_capped_and_jittered() -> None:
    rng = random.Random(1)
    for attempt, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (10, 30.0), (50, 30.0)]:
        delays = [backoff_delay(attempt, 0.5, 30.0, rng) for _ in range(200)]
        assert all(cap / 2 <= d <= cap for d in delays)
        assert max(delays) - min(delays) > cap / 4, "jitter spreads reconnecting gateways"
