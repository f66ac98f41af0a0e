"""Time helpers: every bohsense time is integer nanoseconds since the epoch, UTC."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["EARLIEST_VALID_NS", "check_event_time", "from_datetime", "now_ns", "to_datetime"]

#: 2000-01-01T00:00:00Z. A device time before this is an unset clock, not an event.
EARLIEST_VALID_NS = 946_684_800 * 10**9


def now_ns() -> int:
    return time.time_ns()


def to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def from_datetime(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: bohsense times are UTC and must carry a timezone")
    return int(dt.timestamp() * 1_000_000) * 1000


def check_event_time(ts: int, now: int, max_future_ns: int) -> str | None:
    """Why ``ts`` is not a possible event time at ``now``, or None if it is."""
    if ts < EARLIEST_VALID_NS:
        return f"event time {ts} is before 2000-01-01 (device clock not set)"
    if ts > now + max_future_ns:
        return (
            f"event time {ts} is {(ts - now) / 1e9:.1f} s in the future (limit {max_future_ns / 1e9:.0f} s)"
        )
    return None
