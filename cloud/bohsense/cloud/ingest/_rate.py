"""A token bucket per gateway for the quarantine: a flood of rejects from one publisher
cannot fill the database or crowd out the rejects of others.

Pure: time comes in as an argument (monotonic seconds).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RateLimiter"]

#: buckets held at most; beyond, all are forgotten (each gateway starts again with a full burst)
_MAX_BUCKETS = 100_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """``allow(key, now)``: True while ``key`` has a token (``rate`` per second, up to ``burst``)."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str, now: float) -> bool:
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._buckets.clear()
            b = self._buckets[key] = _Bucket(self.burst, now)
        b.tokens = min(self.burst, b.tokens + (now - b.at) * self.rate)
        b.at = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return True
        return False
