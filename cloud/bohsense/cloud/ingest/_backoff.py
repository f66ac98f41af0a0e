"""Jittered exponential backoff for reconnects and storage retries."""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """``next()`` gives ``min(maximum, initial·2ⁿ)`` scaled by a random factor in [0.5, 1]."""

    def __init__(self, initial: float = 0.05, maximum: float = 5.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0

    def next(self) -> float:
        delay = min(self.maximum, self.initial * float(2**self.attempt))
        self.attempt = min(self.attempt + 1, 30)
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.attempt = 0
