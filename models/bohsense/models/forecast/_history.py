"""Daily demand histories in the long format of the M5 file, validated row by row.

One row per item × store × day: required columns ``item_id, store_id, date, value``;
optional ``sell_price`` (empty or NaN: not on sale), ``snap`` (0/1), ``event_name_1`` /
``event_name_2`` (any text marks an event day); other columns are ignored. Rows may
come in any order. Refused, with the line named: an item × store the caller does not
know (``known``, from a catalog of items), a missing required column, a date that
is not a real ``YYYY-MM-DD`` day, a value that is not a finite number, a negative value
(returns are not demand: net them out upstream), a duplicated item × store × day, and a
gap in a series' days — unless ``fill_gaps`` is set, when every missing day between a
series' first and last day is a zero-sale day (with no price, no event, no SNAP).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._errors import HistoryError

__all__ = ["REQUIRED", "Series", "parse_history"]

REQUIRED = ("item_id", "store_id", "date", "value")
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Series:
    """One item × store: consecutive days from ``start``; arrays share one length."""

    item_id: str
    store_id: str
    start: dt.date
    values: FloatArray
    price: FloatArray  # NaN: no price known (not on sale, or no price column)
    snap: FloatArray
    event: FloatArray

    @property
    def key(self) -> tuple[str, str]:
        return (self.item_id, self.store_id)

    @property
    def end(self) -> dt.date:
        """The last day of history."""
        return self.start + dt.timedelta(days=len(self.values) - 1)

    def weekdays(self, offset: int = 0, n: int | None = None) -> npt.NDArray[np.int64]:
        """Monday=0 … Sunday=6 of days ``offset … offset+n-1`` counted from ``start``."""
        n = len(self.values) - offset if n is None else n
        first = (self.start.weekday() + offset) % 7
        return (first + np.arange(n, dtype=np.int64)) % 7

    def tail(self, n: int) -> Series:
        """The last ``n`` days (all of them when the series is shorter)."""
        k = max(len(self.values) - n, 0)
        return Series(
            self.item_id, self.store_id, self.start + dt.timedelta(days=k),
            self.values[k:], self.price[k:], self.snap[k:], self.event[k:],
        )  # fmt: skip

    def head(self, n: int) -> Series:
        """The first ``n`` days (a shorter history, for back-testing)."""
        return Series(
            self.item_id, self.store_id, self.start,
            self.values[:n], self.price[:n], self.snap[:n], self.event[:n],
        )  # fmt: skip


def _number(text: str, column: str, row: int, *, allow_missing: bool) -> float:
    t = text.strip()
    if allow_missing and (t == "" or t.lower() in ("nan", "na")):
        return math.nan
    try:
        x = float(t)
    except ValueError:
        raise HistoryError(f"{column} {text!r} is not a number", row) from None
    if not math.isfinite(x):
        raise HistoryError(f"{column} {text!r} is not a finite number", row)
    if x < 0:
        what = " (returns are not demand: net them out before forecasting)" if column == "value" else ""
        raise HistoryError(f"{column} {text!r} is negative{what}", row)
    return x


def parse_history(
    lines: Iterable[str], *, fill_gaps: bool = False, known: Callable[[str, str], bool] | None = None
) -> list[Series]:
    """Read a long-format history (an iterable of CSV text lines) into series sorted by
    item and store. Raises HistoryError naming the first offending line; with ``known``,
    a row whose item × store it refuses is an unknown item."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise HistoryError("the history is empty (no header line)", 1)
    names = [h.strip() for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise HistoryError(f"missing required column(s): {', '.join(missing)}", 1)
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise HistoryError(f"duplicated column name(s): {', '.join(dup)}", 1)
    col = {n: i for i, n in enumerate(names)}
    i_item, i_store, i_date, i_value = (col[c] for c in REQUIRED)
    i_price = col.get("sell_price")
    i_snap = col.get("snap")
    i_events = [col[c] for c in ("event_name_1", "event_name_2") if c in col]
    width = len(names)

    # key -> date -> (row, value, price, snap, event)
    rows: dict[tuple[str, str], dict[dt.date, tuple[int, float, float, float, float]]] = {}
    seen: set[tuple[str, str]] = set()
    for lineno, rec in enumerate(reader, start=2):
        if not rec:
            raise HistoryError("empty line", lineno)
        if len(rec) != width:
            raise HistoryError(f"{len(rec)} fields where the header has {width}", lineno)
        item, store = rec[i_item].strip(), rec[i_store].strip()
        if not item or not store:
            raise HistoryError("empty item_id or store_id", lineno)
        if known is not None and (item, store) not in seen and not known(item, store):
            raise HistoryError(f"unknown item {item} at store {store} (not among the known items)", lineno)
        seen.add((item, store))
        try:
            day = dt.date.fromisoformat(rec[i_date].strip())
        except ValueError:
            raise HistoryError(f"date {rec[i_date]!r} is not a YYYY-MM-DD day", lineno) from None
        value = _number(rec[i_value], "value", lineno, allow_missing=False)
        price = (
            math.nan if i_price is None else _number(rec[i_price], "sell_price", lineno, allow_missing=True)
        )
        snap = 0.0
        if i_snap is not None:
            s = rec[i_snap].strip()
            if s not in ("", "0", "1"):
                raise HistoryError(f"snap {rec[i_snap]!r} is not 0 or 1", lineno)
            snap = 1.0 if s == "1" else 0.0
        event = 1.0 if any(rec[i].strip() not in ("", "nan", "NaN") for i in i_events) else 0.0
        days = rows.setdefault((item, store), {})
        if day in days:
            raise HistoryError(
                f"{item} at {store} on {day} appears twice (first on line {days[day][0]})", lineno
            )
        days[day] = (lineno, value, price, snap, event)
    if not rows:
        raise HistoryError("the history has a header but no rows", 2)

    out: list[Series] = []
    for (item, store), days in sorted(rows.items()):
        ordered = sorted(days)
        first, last = ordered[0], ordered[-1]
        n = (last - first).days + 1
        if n != len(ordered) and not fill_gaps:
            prev = ordered[0]
            for d in ordered[1:]:
                if (d - prev).days > 1:
                    a, b = prev + dt.timedelta(days=1), d - dt.timedelta(days=1)
                    span = str(a) if a == b else f"{a} … {b}"
                    raise HistoryError(
                        f"{item} at {store} has no row for {span} (gap between lines"
                        f" {days[prev][0]} and {days[d][0]}); supply every day, or fill gaps"
                        " as zero-sale days",
                        days[d][0],
                    )
                prev = d
        arr = np.zeros((4, n))
        arr[1] = math.nan
        for d, (_, value, price, snap, event) in days.items():
            arr[:, (d - first).days] = (value, price, snap, event)
        out.append(Series(item, store, first, arr[0].copy(), arr[1].copy(), arr[2].copy(), arr[3].copy()))
    return out
