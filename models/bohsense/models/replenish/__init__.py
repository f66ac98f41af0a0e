"""Replenishment: ABC/XYZ classes, a periodic-review (R, S) order-up-to policy whose
safety stock comes from the forecast's protection-interval demand distribution, a
moving-average baseline, and a lost-sales replay of both (docs/forecasting.md); the nightly
plan with supplier calendars, EOQ, (R, S) or (s, Q) and capacity, on local processes or
Dask (docs/replenishment-plan.md).
"""

from __future__ import annotations

from ._arithmetic import OrderCalendar, PolicyTimes, eoq, parse_weekdays, round_order, size_order
from ._classify import abc_classes, xyz_class
from ._errors import PolicyError, ReplenishError
from ._policy import ForecastPolicy, MovingAveragePolicy, fill_rate_level
from ._simulate import Tally, default_class_targets, replay, simulate

__all__ = [
    "ForecastPolicy",
    "MovingAveragePolicy",
    "OrderCalendar",
    "PolicyError",
    "PolicyTimes",
    "ReplenishError",
    "Tally",
    "abc_classes",
    "default_class_targets",
    "eoq",
    "fill_rate_level",
    "parse_weekdays",
    "replay",
    "round_order",
    "simulate",
    "size_order",
    "xyz_class",
]
