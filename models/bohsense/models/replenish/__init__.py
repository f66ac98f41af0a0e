"""Replenishment: ABC/XYZ classes, a periodic-review (R, S) order-up-to policy whose
safety stock comes from the forecast's protection-interval demand distribution, a
moving-average baseline, and a lost-sales replay of both. See docs/forecasting.md.
"""

from __future__ import annotations

from ._arithmetic import PolicyTimes, round_order
from ._classify import abc_classes, xyz_class
from ._errors import PolicyError, ReplenishError
from ._policy import ForecastPolicy, MovingAveragePolicy, fill_rate_level
from ._simulate import Tally, default_class_targets, replay, simulate

__all__ = [
    "ForecastPolicy",
    "MovingAveragePolicy",
    "PolicyError",
    "PolicyTimes",
    "ReplenishError",
    "Tally",
    "abc_classes",
    "default_class_targets",
    "fill_rate_level",
    "replay",
    "round_order",
    "simulate",
    "xyz_class",
]
