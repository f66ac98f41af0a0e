"""The calendar and quantity arithmetic of a periodic-review policy, in one place.

Days are integers. A review happens on day ``first`` and every ``review_days`` after; an
order placed at a review on day ``t`` (at the start of the day, before its demand)
arrives at the start of day ``t + lead_time`` and can serve that day's demand (lead time
0: it serves day ``t`` itself). The stock after the review must therefore cover the
demand of days ``t … t + lead_time + review_days - 1`` — the protection interval — until
the next order can arrive.

An order quantity is the shortfall of the inventory position (on hand + on order) below
the order-up-to level, raised to the minimum order when it is positive, then rounded up
to a whole number of packs; no shortfall, no order.
"""

from __future__ import annotations

import math

from ._errors import PolicyError

__all__ = ["PolicyTimes", "round_order"]


class PolicyTimes:
    __slots__ = ("first", "lead_time", "review_days")

    def __init__(self, lead_time: int, review_days: int, first: int = 0) -> None:
        if lead_time < 0:
            raise PolicyError(f"lead time {lead_time} days must be >= 0")
        if review_days < 1:
            raise PolicyError(f"review period {review_days} days must be >= 1")
        self.lead_time, self.review_days, self.first = lead_time, review_days, first

    @property
    def protection_days(self) -> int:
        return self.lead_time + self.review_days

    def is_review(self, day: int) -> bool:
        return day >= self.first and (day - self.first) % self.review_days == 0

    def arrival(self, order_day: int) -> int:
        return order_day + self.lead_time

    def next_review(self, day: int) -> int:
        """The first review day on or after ``day``."""
        if day <= self.first:
            return self.first
        return self.first + math.ceil((day - self.first) / self.review_days) * self.review_days


def round_order(shortfall: float, pack: int = 1, min_order: int = 0) -> int:
    """Units to order for a shortfall: 0 if none, else at least ``min_order``, in packs."""
    if pack < 1:
        raise PolicyError(f"pack size {pack} must be >= 1")
    if min_order < 0:
        raise PolicyError(f"minimum order {min_order} must be >= 0")
    if shortfall <= 0:
        return 0
    need = max(math.ceil(shortfall - 1e-9), min_order)
    return math.ceil(need / pack) * pack
