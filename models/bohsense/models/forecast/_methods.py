"""Forecasting methods as online smoothers: one observation in, a forecast out.

Every method keeps a small state, updated with ``step(value, weekday)`` once a day, and
forecasts any future day with ``predict(weekday)``: none of them trends, so a forecast
depends on the day's weekday only (Monday=0). The same objects serve the batch forecast
(run over a history, then predict the horizon) and the replenishment replay (stepped day
by day, never seeing a day before it happened).

- ``snaive``: the last value seen on the same weekday (seasonal naive, period 7).
- ``ses``: simple exponential smoothing of the level.
- ``sba``: Croston's method with the Syntetos–Boylan bias correction (sizes and
  intervals smoothed at non-zero days, forecast ``(1 - α/2) · size / interval``).
- ``tsb``: Teunter–Syntetos–Babai: the probability of a sale smoothed every day, the size
  at non-zero days; forecast ``probability · size`` (it decays when an item stops selling).
- ``esw`` / ``tsbw``: ``ses`` / ``tsb`` on weekday-adjusted demand, times a multiplicative
  weekday profile (exponentially weighted weekday means, shrunk towards a flat week).
- ``ma28``: the mean of the last 28 days (the baseline replenishment policy's forecast).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

__all__ = ["METHODS", "Method", "make"]


class Method:
    name = "method"

    def step(self, y: float, weekday: int) -> None:
        raise NotImplementedError

    def predict(self, weekday: int) -> float:
        raise NotImplementedError


class _Profile:
    """Multiplicative weekday profile from exponentially weighted weekday means."""

    __slots__ = ("_g", "_m", "_mean", "_shrink")

    def __init__(self, gamma: float = 0.05, shrink: float = 0.25) -> None:
        self._g = gamma
        self._shrink = shrink
        self._m: list[float | None] = [None] * 7
        self._mean: float | None = None  # the weekday means' mean, once all seven are known

    def update(self, y: float, w: int) -> None:
        m = self._m[w]
        self._m[w] = y if m is None else m + self._g * (y - m)
        known = [m for m in self._m if m is not None]
        self._mean = sum(known) / 7.0 if len(known) == 7 else None

    def factor(self, w: int) -> float:
        mean = self._mean
        if mean is None or mean <= 0.0:
            return 1.0
        m = self._m[w]
        assert m is not None
        return max((m + self._shrink * mean) / ((1.0 + self._shrink) * mean), 0.05)


class SeasonalNaive(Method):
    name = "snaive"

    def __init__(self) -> None:
        self._last = [0.0] * 7

    def step(self, y: float, weekday: int) -> None:
        self._last[weekday] = y

    def predict(self, weekday: int) -> float:
        return self._last[weekday]


class SES(Method):
    name = "ses"

    def __init__(self, alpha: float = 0.1) -> None:
        self._a = alpha
        self._level: float | None = None

    def step(self, y: float, weekday: int) -> None:
        self._level = y if self._level is None else self._level + self._a * (y - self._level)

    def predict(self, weekday: int) -> float:
        return 0.0 if self._level is None else self._level


class SBA(Method):
    name = "sba"

    def __init__(self, alpha: float = 0.1) -> None:
        self._a = alpha
        self._size: float | None = None
        self._interval = 1.0
        self._since = 1

    def step(self, y: float, weekday: int) -> None:
        if y > 0:
            if self._size is None:
                self._size, self._interval = y, float(self._since)
            else:
                self._size += self._a * (y - self._size)
                self._interval += self._a * (self._since - self._interval)
            self._since = 1
        else:
            self._since += 1

    def predict(self, weekday: int) -> float:
        if self._size is None:
            return 0.0
        return (1.0 - self._a / 2.0) * self._size / self._interval


class TSB(Method):
    name = "tsb"

    def __init__(self, alpha: float = 0.1, beta: float = 0.05) -> None:
        self._a, self._b = alpha, beta
        self._size: float | None = None
        self._prob: float | None = None

    def _update(self, y: float) -> None:
        hit = 1.0 if y > 0 else 0.0
        self._prob = hit if self._prob is None else self._prob + self._b * (hit - self._prob)
        if y > 0:
            self._size = y if self._size is None else self._size + self._a * (y - self._size)

    def step(self, y: float, weekday: int) -> None:
        self._update(y)

    def predict(self, weekday: int) -> float:
        if self._size is None or self._prob is None:
            return 0.0
        return self._prob * self._size


class SeasonalSES(SES):
    name = "esw"

    def __init__(self, alpha: float = 0.1) -> None:
        super().__init__(alpha)
        self._profile = _Profile()

    def step(self, y: float, weekday: int) -> None:
        self._profile.update(y, weekday)
        super().step(y / self._profile.factor(weekday), weekday)

    def predict(self, weekday: int) -> float:
        return super().predict(weekday) * self._profile.factor(weekday)


class SeasonalTSB(TSB):
    name = "tsbw"

    def __init__(self, alpha: float = 0.1, beta: float = 0.1) -> None:
        super().__init__(alpha, beta)
        self._profile = _Profile()

    def step(self, y: float, weekday: int) -> None:
        self._profile.update(y, weekday)
        self._update(y / self._profile.factor(weekday))

    def predict(self, weekday: int) -> float:
        return super().predict(weekday) * self._profile.factor(weekday)


class MovingAverage(Method):
    name = "ma28"

    def __init__(self, window: int = 28) -> None:
        self._window: deque[float] = deque(maxlen=window)
        self._sum = 0.0

    def step(self, y: float, weekday: int) -> None:
        if len(self._window) == self._window.maxlen:
            self._sum -= self._window[0]
        self._window.append(y)
        self._sum += y

    def predict(self, weekday: int) -> float:
        return self._sum / len(self._window) if self._window else 0.0


METHODS: dict[str, Callable[[], Method]] = {
    "snaive": SeasonalNaive,
    "ses": SES,
    "sba": SBA,
    "tsb": TSB,
    "esw": SeasonalSES,
    "tsbw": SeasonalTSB,
    "ma28": MovingAverage,
}


def make(name: str) -> Method:
    try:
        return METHODS[name]()
    except KeyError:
        raise ValueError(f"unknown method {name!r} (known: {', '.join(METHODS)})") from None
