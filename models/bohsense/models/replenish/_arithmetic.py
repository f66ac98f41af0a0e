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

The nightly plan works on dates and a supplier's calendar (``OrderCalendar``): orders can
be placed on some weekdays only, and the supplier delivers on some weekdays only, so an
order placed on day ``t`` arrives on the first delivery day on or after ``t + lead_time``
(a lead time that ends on a Saturday, with no weekend deliveries, ends on Monday). An
order placed today must cover the days until the next order can arrive: the lead part
``t … arrival(t) - 1`` and the review part ``arrival(t) … arrival(t') - 1``, where ``t'``
is the first later order day whose order arrives later than today's (two order days whose
orders arrive together count as one). ``size_order`` adds the shelf's capacity to
``round_order`` and a continuous-review (s, Q) variant; ``eoq`` is the economic order
quantity.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

from ._errors import PolicyError

__all__ = ["WEEKDAYS", "OrderCalendar", "PolicyTimes", "eoq", "parse_weekdays", "round_order", "size_order"]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


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


def parse_weekdays(text: str) -> frozenset[int]:
    """``Mon|Thu`` (or ``mon thu``, ``Mon,Thu``; ``all`` or empty: every day) as weekday
    numbers, Monday = 0."""
    t = text.strip()
    if t.lower() in ("", "all", "daily"):
        return frozenset(range(7))
    out = set()
    for w in filter(None, (w.strip().lower() for w in t.replace(",", "|").replace(" ", "|").split("|"))):
        i = next((i for i, d in enumerate(WEEKDAYS) if w in (d.lower(), _FULL[i])), None)
        if i is None:
            raise PolicyError(f"weekday {w!r} is not one of {', '.join(WEEKDAYS)}")
        out.add(i)
    return frozenset(out)


class OrderCalendar:
    """A supplier's order and delivery weekdays and lead time in calendar days."""

    __slots__ = ("delivery_days", "lead_time", "order_days")

    def __init__(
        self, lead_time: int, order_days: Iterable[int] = range(7), delivery_days: Iterable[int] = range(7)
    ) -> None:
        if lead_time < 0:
            raise PolicyError(f"lead time {lead_time} days must be >= 0")
        self.lead_time = lead_time
        self.order_days = frozenset(order_days)
        self.delivery_days = frozenset(delivery_days)
        for what, days in (("order", self.order_days), ("delivery", self.delivery_days)):
            if not days:
                raise PolicyError(f"the supplier needs at least one {what} weekday")
            if not days <= set(range(7)):
                raise PolicyError(f"{what} weekdays {sorted(days)} are not all in 0 (Mon) … 6 (Sun)")

    def is_order_day(self, day: dt.date) -> bool:
        return day.weekday() in self.order_days

    def next_order_day(self, day: dt.date) -> dt.date:
        """The first order day on or after ``day``."""
        k = next(k for k in range(7) if (day.weekday() + k) % 7 in self.order_days)
        return day + dt.timedelta(days=k)

    def arrival(self, order_day: dt.date) -> dt.date:
        """The first delivery day on or after ``order_day + lead_time``."""
        due = order_day + dt.timedelta(days=self.lead_time)
        k = next(k for k in range(7) if (due.weekday() + k) % 7 in self.delivery_days)
        return due + dt.timedelta(days=k)

    def next_arrival(self, order_day: dt.date) -> tuple[dt.date, dt.date]:
        """(the first later order day whose order arrives after ``order_day``'s, its
        arrival)."""
        first = self.arrival(order_day)
        t = order_day
        while True:
            t = self.next_order_day(t + dt.timedelta(days=1))
            a = self.arrival(t)
            if a > first:
                return t, a

    def protection(self, order_day: dt.date) -> tuple[int, int]:
        """(lead days, review days) an order placed on ``order_day`` must cover: the days
        until it arrives, then the days until the next order can arrive (>= 1)."""
        a = self.arrival(order_day)
        _, b = self.next_arrival(order_day)
        return (a - order_day).days, (b - a).days


def eoq(daily_demand: float, order_cost: float, holding_cost_per_year: float) -> float:
    """The economic order quantity sqrt(2·D·K/h) for an annual demand D = 365 × daily,
    order cost K and holding cost h per unit-year (0 when any of them is not positive)."""
    if daily_demand <= 0 or order_cost <= 0 or holding_cost_per_year <= 0:
        return 0.0
    return math.sqrt(2.0 * daily_demand * 365.0 * order_cost / holding_cost_per_year)


def size_order(
    position: float,
    *,
    order_up_to: float | None = None,
    reorder_point: float | None = None,
    quantity: int = 0,
    pack: int = 1,
    min_order: int = 0,
    capacity: int | None = None,
) -> int:
    """Units to order now for an inventory position (on hand + on order).

    Periodic review (``order_up_to`` S): ``round_order(S - position)``. Continuous review
    (``reorder_point`` s and ``quantity`` Q > 0, Q a whole number of packs at least the
    minimum order): when the position is below s, the fewest Q's that lift it to s or more.
    Then the capacity: the position after the order may not exceed ``capacity`` (the shelf
    holds what is on it and what is coming); an order that does not fit is cut to the
    whole packs that fit, and to nothing when those are below the minimum order. Ordering
    the result and asking again with the raised position orders nothing."""
    if (order_up_to is None) == (reorder_point is None):
        raise PolicyError("give either an order-up-to level or a reorder point and quantity")
    round_order(0, pack, min_order)  # refuses an impossible pack or minimum
    if capacity is not None and capacity < 0:
        raise PolicyError(f"capacity {capacity} must be >= 0")
    if order_up_to is not None:
        q = round_order(order_up_to - position, pack, min_order)
    else:
        assert reorder_point is not None
        if quantity < 1 or quantity % pack or quantity < min_order:
            raise PolicyError(
                f"order quantity {quantity} must be a positive whole number of packs of {pack}"
                f" and at least the minimum order {min_order}"
            )
        short = reorder_point - position
        q = 0 if short <= 1e-9 else quantity * math.ceil(short / quantity - 1e-9)
    if capacity is not None and position + q > capacity:
        room = max(math.floor(capacity - position + 1e-9), 0)
        q = room // pack * pack
        if q < max(min_order, 1):
            q = 0
    return q
