"""Errors of the forecasting package.

::

    ForecastError            anything this package refuses
    └── HistoryError         a demand history that cannot be used as it is (names the row)
"""

from __future__ import annotations

__all__ = ["ForecastError", "HistoryError"]


class ForecastError(Exception):
    """Root of the forecasting package's errors."""


class HistoryError(ForecastError):
    """A demand history that cannot be used: ``row`` is the 1-based line of the file
    (the header is line 1), or None when the problem is not one row's."""

    def __init__(self, reason: str, row: int | None = None) -> None:
        self.reason = reason
        self.row = row
        super().__init__(f"line {row}: {reason}" if row is not None else reason)
