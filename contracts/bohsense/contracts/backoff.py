"""Jittered exponential backoff, one implementation for every reconnect and retry.

The delay before attempt n (1, 2, …) is ``min(maximum, initial·2ⁿ⁻¹)`` scaled by a
random factor in [0.5, 1]: it grows fast, never exceeds ``maximum``, and the jitter keeps
a fleet of gateways (or workers) that lost the same broker from retrying in step.
"""

from __future__ import annotations

import random

__all__ = ["Backoff", "backoff_delay"]

_MAX_EXPONENT = 30


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random | None = None) -> float:
    """The delay before attempt ``attempt`` (1-based) — the stateless form of ``Backoff``."""
    exponent = min(max(0, attempt - 1), _MAX_EXPONENT)
    delay = min(maximum, initial * float(2**exponent))
    return float(delay * (rng or random).uniform(0.5, 1.0))


class Backoff:
    """``next()`` gives the delay before the next attempt; ``reset()`` after a success."""

    def __init__(self, initial: float = 0.1, maximum: float = 5.0, rng: random.Random | None = None) -> None:
        if not 0 < initial <= maximum:
            raise ValueError(f"backoff needs 0 < initial ({initial}) <= maximum ({maximum})")
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0  # attempts made since the last reset: a level, reported in stats
        self._rng = rng

    def next(self) -> float:
        self.attempt = min(self.attempt + 1, _MAX_EXPONENT + 1)
        return backoff_delay(self.attempt, self.initial, self.maximum, self._rng)

    def reset(self) -> None:
        self.attempt = 0
