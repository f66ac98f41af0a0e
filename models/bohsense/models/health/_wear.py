"""Real wear next to book depreciation.

The books say how much of an asset's value is left from its age alone: straight-line
(the same amount each year down to the salvage value) or declining balance (the same
share of what is left each year; by default twice the straight-line rate, "double
declining"). The machine says how much of its life is left from its condition: the
remaining-life estimate when there is one, else the trend of its health score
extrapolated to the end of life (health 0). Both are shares in [0, 1]; the difference
says whether the asset wears faster or slower than it is written off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from bohsense.models.errors import InputError

__all__ = ["METHODS", "Wear", "book_value_share", "real_wear"]

METHODS = ("straight_line", "declining_balance")
DAYS_PER_YEAR = 365.25
MIN_TREND_POINTS = 5
SAME_BAND = 0.10  # shares closer than this are "in line with the books"


def _years(start: date, end: date) -> float:
    if not isinstance(start, date) or not isinstance(end, date):
        raise InputError("dates must be datetime.date values")
    if end < start:
        raise InputError(f"as of {end.isoformat()} is before the purchase date {start.isoformat()}")
    return (end - start).days / DAYS_PER_YEAR


def book_value_share(
    purchase: date,
    on: date,
    *,
    life_years: float,
    method: str = "straight_line",
    salvage_share: float = 0.0,
    rate: float | None = None,
) -> float:
    """Share of the purchase value still on the books on ``on``.

    ``straight_line``: 1 − (1 − salvage) × age / life, and the salvage share after the
    book life. ``declining_balance``: (1 − rate) ** age with ``rate`` 2 / life unless
    given, never below the salvage share, and the salvage share after the book life."""
    if not (isinstance(life_years, (int, float)) and math.isfinite(life_years) and life_years > 0):
        raise InputError(f"life_years {life_years!r}: need a number of years above 0")
    if method not in METHODS:
        raise InputError(f"method {method!r}: one of {', '.join(METHODS)}")
    if not (math.isfinite(salvage_share) and 0.0 <= salvage_share < 1.0):
        raise InputError(f"salvage_share {salvage_share!r}: need 0 <= share < 1")
    age = _years(purchase, on)
    if age >= life_years:
        return salvage_share
    if method == "straight_line":
        if rate is not None:
            raise InputError("rate applies to declining_balance only")
        return 1.0 - (1.0 - salvage_share) * age / life_years
    r = 2.0 / life_years if rate is None else float(rate)
    if not (math.isfinite(r) and 0.0 < r < 1.0):
        raise InputError(f"rate {rate!r}: need 0 < rate < 1 (a share of the value per year)")
    return max(salvage_share, float((1.0 - r) ** age))


@dataclass(frozen=True, slots=True)
class Wear:
    age_years: float
    book_value_share: float  # of the purchase value
    remaining_life_share: float | None  # of the whole life, from the condition; None: cannot tell
    basis: str  # "remaining_life", "health_trend" or "none"
    remaining_years: float | None
    difference: float | None  # remaining_life_share − book_value_share
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _health_trend(history: Sequence[tuple[date, float]], on: date) -> tuple[float | None, str]:
    """Years until the health trend reaches 0 (least squares over the history), or None
    with the reason."""
    points: list[tuple[float, float]] = []
    for d, h in history:
        if not isinstance(d, date):
            raise InputError("health history: each entry is (datetime.date, score)")
        if (
            isinstance(h, bool)
            or not isinstance(h, (int, float))
            or not math.isfinite(h)
            or not 0 <= h <= 100
        ):
            raise InputError(f"health history: score {h!r} on {d.isoformat()} is not a number in 0..100")
        if d > on:
            raise InputError(f"health history: {d.isoformat()} is after the as-of date {on.isoformat()}")
        points.append(((d - on).days / DAYS_PER_YEAR, float(h)))
    if len(points) < MIN_TREND_POINTS:
        return None, f"only {len(points)} health scores (need {MIN_TREND_POINTS}) to see a trend"
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(h for _, h in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    if sxx <= 0:
        return None, "the health scores all fall on one day"
    slope = sum((t - mx) * (h - my) for t, h in points) / sxx  # points per year
    now = my - slope * mx  # the fitted health today (t = 0)
    if slope >= -1e-9:
        return None, "health is not declining: its trend gives no end of life"
    return max(0.0, now) / -slope, f"health falls {-slope:.1f} points a year, fitted {now:.0f} today"


def real_wear(
    purchase: date,
    on: date,
    *,
    life_years: float,
    method: str = "straight_line",
    salvage_share: float = 0.0,
    rate: float | None = None,
    rul_days: float | None = None,
    health_history: Sequence[tuple[date, float]] = (),
) -> Wear:
    """Book value share next to the share of life the condition says is left:
    remaining / (age + remaining), the remaining time from ``rul_days`` when given,
    else from the health trend."""
    book = book_value_share(purchase, on, life_years=life_years, method=method,
                            salvage_share=salvage_share, rate=rate)  # fmt: skip
    age = _years(purchase, on)
    if rul_days is not None:
        if (
            isinstance(rul_days, bool)
            or not isinstance(rul_days, (int, float))
            or not math.isfinite(rul_days)
            or rul_days < 0
        ):
            raise InputError(f"rul_days {rul_days!r}: need a finite number of days >= 0")
        remaining: float | None = rul_days / DAYS_PER_YEAR
        basis, why = "remaining_life", f"remaining life estimated at {rul_days:.0f} days"
    else:
        remaining, why = _health_trend(health_history, on)
        basis = "health_trend" if remaining is not None else "none"
    if remaining is None:
        return Wear(round(age, 3), round(book, 4), None, basis, None, None,
                    f"book value {book:.0%} of purchase; real wear cannot be told: {why}")  # fmt: skip
    total = age + remaining
    share = remaining / total if total > 0 else 1.0
    diff = share - book
    if diff < -SAME_BAND:
        verdict = "wearing faster than it is written off: plan the replacement before the books do"
    elif diff > SAME_BAND:
        verdict = "wearing slower than it is written off: it should outlast its book life"
    else:
        verdict = "wearing in line with its books"
    text = (
        f"{share:.0%} of its life is left by condition ({why}: {remaining:.1f} of "
        f"{total:.1f} years), {book:.0%} of its value by the books ({method}, "
        f"{life_years:g} years, {age:.1f} old); {verdict}"
    )
    return Wear(
        round(age, 3), round(book, 4), round(share, 4), basis, round(remaining, 3), round(diff, 4), text
    )
