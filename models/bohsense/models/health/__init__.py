"""Health score per asset (0–100, with what drives it) and real wear next to book
depreciation: pure functions, no I/O (see ``_score`` and ``_wear``)."""

from ._score import (
    FEATURES,
    ISO_ZONES,
    Baseline,
    Contribution,
    Health,
    features_from_diagnosis,
    health_score,
    iso_zone,
    learn_baseline,
)
from ._wear import METHODS, Wear, book_value_share, real_wear

__all__ = [
    "FEATURES",
    "ISO_ZONES",
    "METHODS",
    "Baseline",
    "Contribution",
    "Health",
    "Wear",
    "book_value_share",
    "features_from_diagnosis",
    "health_score",
    "iso_zone",
    "learn_baseline",
    "real_wear",
]
