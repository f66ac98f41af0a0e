"""ABC (value) and XYZ (variability) classes of items.

ABC: items sorted by value (units × sell price, or units when no price is known) over
the period; A holds the items that make the first 80 % of the total value, B the next
15 %, C the rest (an item is in the class where its cumulative share starts). XYZ: the
coefficient of variation of weekly demand: X below 0.5, Y below 1.0, Z from 1.0 (and Z
for an item with no demand).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["abc_classes", "xyz_class"]

K = TypeVar("K", bound=Hashable)
A_SHARE, B_SHARE = 0.80, 0.95
X_CV, Y_CV = 0.5, 1.0


def abc_classes(values: Mapping[K, float]) -> dict[K, str]:
    total = sum(max(v, 0.0) for v in values.values())
    out: dict[K, str] = {}
    before = 0.0
    for key, v in sorted(values.items(), key=lambda kv: -kv[1]):
        share = before / total if total > 0 else 1.0
        out[key] = "A" if share < A_SHARE else "B" if share < B_SHARE else "C"
        before += max(v, 0.0)
    return out


def xyz_class(daily: npt.NDArray[np.float64]) -> str:
    weeks = len(daily) // 7
    if weeks < 2:
        return "Z"
    w = daily[len(daily) - 7 * weeks :].reshape(weeks, 7).sum(axis=1)
    mean = float(w.mean())
    if mean <= 0:
        return "Z"
    cv = float(w.std()) / mean
    return "X" if cv < X_CV else "Y" if cv < Y_CV else "Z"
