"""bohsense models: streaming detectors and forecasts, pure computation (no I/O).

Every detector follows one small contract so that the cloud can swap them without
touching the plumbing: ``learn_one(features)`` updates the model with one observation
(a mapping of feature name to value), ``score_one(features)`` returns an anomaly score
where higher means more anomalous, and the decision threshold is kept apart from the
score (it belongs to the alerting policy, not to the model).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = ["Detector", "Features"]

Features = Mapping[str, float]


class Detector(Protocol):
    def learn_one(self, features: Features) -> None:
        """Update the model with one observation."""

    def score_one(self, features: Features) -> float:
        """Anomaly score of one observation: higher is more anomalous."""
