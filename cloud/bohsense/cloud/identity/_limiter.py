"""The sign-in rate limiter: at most N failures per key (a user name, a client address) in
a sliding window; past that, every attempt is refused until the oldest failure leaves it.

In-process: with several API worker processes, each limits on its own (N failures per
worker), which still bounds guessing to N × workers per window.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

__all__ = ["LoginLimiter"]


class LoginLimiter:
    """Failures per key within ``window_s``; ``max_keys`` bounds the memory it takes."""

    def __init__(
        self, max_failures: int, window_s: float, *, clock: Callable[[], float], max_keys: int = 100_000
    ) -> None:
        if max_failures < 1 or window_s <= 0:
            raise ValueError("max_failures must be at least 1 and window_s positive")
        self.max_failures, self.window_s, self._clock = max_failures, window_s, clock
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, keys: Iterable[str]) -> int | None:
        """Seconds until any of ``keys`` may try again, or None when all may now."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if times is not None and len(times) >= self.max_failures:
                    wait = max(wait, times[-self.max_failures] + self.window_s - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, keys: Iterable[str]) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                times = self._recent(key, now) or deque(maxlen=self.max_failures)
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
