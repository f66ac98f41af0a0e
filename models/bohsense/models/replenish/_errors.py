"""Errors of the replenishment package.

::

    ReplenishError        anything this package refuses
    └── PolicyError       a policy parameter that makes no sense (negative lead time, …)
"""

from __future__ import annotations

__all__ = ["PolicyError", "ReplenishError"]


class ReplenishError(Exception):
    """Root of the replenishment package's errors."""


class PolicyError(ReplenishError):
    """An impossible policy parameter; the message names it."""
