"""A fixed-length window of the latest values with order statistics in O(log n + n/64).

The values are kept twice: in arrival order (a deque, the only part serialised) and
sorted (a list kept with bisect), so medians and quantiles are index look-ups.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Iterable


class SortedWindow:
    __slots__ = ("_order", "_sorted", "size")

    def __init__(self, size: int, values: Iterable[float] = ()) -> None:
        if size < 1:
            raise ValueError(f"window size must be >= 1, got {size}")
        self.size = size
        self._order: deque[float] = deque()
        self._sorted: list[float] = []
        for v in values:
            self.push(v)

    def __len__(self) -> int:
        return len(self._order)

    def push(self, value: float) -> float | None:
        """Append ``value``; return the value evicted to keep the size, if any."""
        self._order.append(value)
        insort(self._sorted, value)
        if len(self._order) > self.size:
            old = self._order.popleft()
            del self._sorted[bisect_left(self._sorted, old)]
            return old
        return None

    def quantile(self, q: float) -> float:
        """Linear-interpolated quantile (0 for an empty window)."""
        s = self._sorted
        n = len(s)
        if n == 0:
            return 0.0
        pos = q * (n - 1)
        lo = int(pos)
        hi = min(lo + 1, n - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)

    def median(self) -> float:
        return self.quantile(0.5)

    def median_with(self, value: float) -> float:
        """The median the window would have with ``value`` added (nothing evicted)."""
        s = self._sorted
        i = bisect_left(s, value)
        merged = [*s[:i], value, *s[i:]]
        n = len(merged)
        return merged[n // 2] if n % 2 else 0.5 * (merged[n // 2 - 1] + merged[n // 2])

    def trimmed_mean(self, share: float, extra: float | None = None) -> float:
        """Mean of the values (with ``extra`` added) without the largest ``share`` of them
        (at least one once there are four or more): robust to a lone outlier."""
        s = self._sorted
        if extra is not None:
            i = bisect_left(s, extra)
            s = [*s[:i], extra, *s[i:]]
        n = len(s)
        if n == 0:
            return 0.0
        drop = max(int(n * share), 1 if n >= 4 else 0)
        kept = s[: n - drop]
        return sum(kept) / len(kept)

    def count(self, value: float) -> int:
        s = self._sorted
        i = bisect_left(s, value)
        j = i
        while j < len(s) and s[j] == value:
            j += 1
        return j - i

    def count_above(self, value: float) -> int:
        """How many values are strictly greater than ``value``."""
        return len(self._sorted) - bisect_right(self._sorted, value)

    def values(self) -> list[float]:
        return list(self._order)
