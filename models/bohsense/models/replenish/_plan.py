"""The nightly plan: for every item × store, today's forecast-based policy figures and
order, one store at a time (a store is the unit of partitioning: its ABC classes are
ranked within it, so a store's rows depend on that store's series only).

For one item × store on the plan day ``d`` (the day after the history's last day unless
given):

1. the order day: ``d`` when the supplier takes orders that weekday, else the next order
   day (then nothing is ordered tonight; the row still shows that day's figures);
2. the protection interval from the supplier's calendar (``OrderCalendar.protection``):
   ``lead`` days until the order arrives, ``review`` days until the next order can arrive;
3. the last ``window_days`` of history go through ``ForecastPolicy`` (the policy that
   ``bohsense replenish simulate`` replays) with those ``lead`` and ``review`` days and the
   class's fill-rate target; its demand distribution gives μ of the protection interval,
   the lead time and the review part, and the level ``S`` (capped at the shelf capacity);
4. the order: EOQ = sqrt(2·D·K/h) from the forecast's daily rate, the order cost K and the
   holding cost h. When EOQ (in whole packs, at least the minimum order) is more than the
   review part's expected demand, ordering at every review costs more than it saves:
   the pair is planned continuous-review (s, Q) with Q that EOQ and s = S (the fewest Q's
   that bring the position to S); otherwise periodic review (R, S), order up to S. Both
   round to packs and the minimum order and respect the capacity (``size_order``); the
   position counts what is on order.

Reorder point (``reorder_point``): the inventory position below which an order is placed
(the level S for both). Safety stock: S minus the protection interval's expected demand.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bohsense.models.forecast import Series

from ._arithmetic import OrderCalendar, PolicyTimes, eoq, parse_weekdays, round_order, size_order
from ._classify import abc_classes, xyz_class
from ._errors import ReplenishError
from ._policy import ForecastPolicy
from ._simulate import CLASSES, default_class_targets

__all__ = [
    "COLUMNS",
    "PlanConfig",
    "StockError",
    "StockRow",
    "partition",
    "plan_store",
    "read_stock",
]


class StockError(ReplenishError):
    """A stock file that cannot be used; the message names the line."""


@dataclass(frozen=True, slots=True)
class StockRow:
    """One item × store's state and supplier settings."""

    on_hand: float = 0.0
    on_order: int = 0
    lead_time: int = 2
    order_days: frozenset[int] = frozenset(range(7))
    delivery_days: frozenset[int] = frozenset(range(7))
    pack: int = 1
    min_order: int = 0
    capacity: int | None = None
    order_cost: float = 0.0
    holding_cost: float = 0.0  # per unit and year


@dataclass(frozen=True, slots=True)
class PlanConfig:
    service_level: float = 0.98
    plan_date: dt.date | None = None
    window_days: int = 420
    class_targets: Mapping[str, float] = field(default_factory=dict)
    defaults: StockRow = StockRow()

    def targets(self) -> dict[str, float]:
        return {**default_class_targets(self.service_level), **self.class_targets}


COLUMNS = (
    "item_id", "store_id", "abc", "xyz", "target", "method", "policy",
    "order_date", "arrival_date", "lead_days", "review_days",
    "daily_forecast", "lead_demand", "protection_demand", "safety_stock",
    "reorder_point", "order_up_to", "eoq", "on_hand", "on_order", "position", "order_qty", "note",
)  # fmt: skip

_STOCK_FIELDS = {
    "item_id", "store_id", "on_hand", "on_order", "lead_time_days", "order_days", "delivery_days",
    "pack_size", "min_order", "capacity", "order_cost", "holding_cost",
}  # fmt: skip


def _int(text: str, name: str, line: int, *, low: int) -> int:
    try:
        x = int(text.strip())
    except ValueError:
        raise StockError(f"line {line}: {name} {text!r} is not a whole number") from None
    if x < low:
        raise StockError(f"line {line}: {name} {text!r} must be >= {low}")
    return x


def _float(text: str, name: str, line: int) -> float:
    try:
        x = float(text.strip())
    except ValueError:
        raise StockError(f"line {line}: {name} {text!r} is not a number") from None
    if not math.isfinite(x) or x < 0:
        raise StockError(f"line {line}: {name} {text!r} must be a finite number >= 0")
    return x


def parse_stock(lines: Sequence[str] | Iterator[str], defaults: StockRow) -> dict[tuple[str, str], StockRow]:
    """A stock file: ``item_id, store_id`` and any of ``on_hand, on_order, lead_time_days,
    order_days, delivery_days, pack_size, min_order, capacity, order_cost, holding_cost``
    (an empty cell or a missing column: the default). Unknown columns are refused."""
    reader = csv.reader(lines)
    header = [h.strip() for h in next(reader, [])]
    if not header:
        raise StockError("line 1: the stock file is empty (no header line)")
    unknown = [h for h in header if h not in _STOCK_FIELDS]
    if unknown:
        raise StockError(
            f"line 1: unknown column(s) {', '.join(unknown)} (known: {', '.join(sorted(_STOCK_FIELDS))})"
        )
    if "item_id" not in header or "store_id" not in header:
        raise StockError("line 1: the stock file needs item_id and store_id columns")
    if len(set(header)) != len(header):
        raise StockError("line 1: a column is named twice")
    out: dict[tuple[str, str], StockRow] = {}
    for line, rec in enumerate(reader, start=2):
        if len(rec) != len(header):
            raise StockError(f"line {line}: {len(rec)} fields where the header has {len(header)}")
        cell = {h: v.strip() for h, v in zip(header, rec, strict=True) if v.strip()}
        key = (cell.get("item_id", ""), cell.get("store_id", ""))
        if not all(key):
            raise StockError(f"line {line}: empty item_id or store_id")
        if key in out:
            raise StockError(f"line {line}: {key[0]} at {key[1]} is listed twice")
        d = defaults
        try:
            order_days = parse_weekdays(cell["order_days"]) if "order_days" in cell else d.order_days
            delivery = parse_weekdays(cell["delivery_days"]) if "delivery_days" in cell else d.delivery_days
        except ReplenishError as exc:
            raise StockError(f"line {line}: {exc}") from None
        g = cell.get
        row = StockRow(
            on_hand=_float(g("on_hand", "0"), "on_hand", line) if "on_hand" in cell else d.on_hand,
            on_order=_int(cell["on_order"], "on_order", line, low=0) if "on_order" in cell else d.on_order,
            lead_time=_int(cell["lead_time_days"], "lead_time_days", line, low=0)
            if "lead_time_days" in cell
            else d.lead_time,
            order_days=order_days,
            delivery_days=delivery,
            pack=_int(cell["pack_size"], "pack_size", line, low=1) if "pack_size" in cell else d.pack,
            min_order=_int(cell["min_order"], "min_order", line, low=0)
            if "min_order" in cell
            else d.min_order,
            capacity=_int(cell["capacity"], "capacity", line, low=0) if "capacity" in cell else d.capacity,
            order_cost=_float(cell["order_cost"], "order_cost", line)
            if "order_cost" in cell
            else d.order_cost,
            holding_cost=_float(cell["holding_cost"], "holding_cost", line)
            if "holding_cost" in cell
            else d.holding_cost,
        )
        out[key] = row
    return out


def read_stock(path: str | Path, defaults: StockRow) -> dict[tuple[str, str], StockRow]:
    p = Path(path)
    try:
        with p.open(encoding="utf-8", newline="") as f:
            return parse_stock(f, defaults)
    except OSError as exc:
        raise StockError(f"cannot read {p}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise StockError(f"{p} is not UTF-8 text: {exc.reason}") from exc
    except StockError as exc:
        raise StockError(f"{p}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Partition:
    """One store's series and their stock rows (the unit of work)."""

    store_id: str
    series: tuple[Series, ...]
    stock: tuple[StockRow, ...]


def partition(
    series: Sequence[Series], stock: Mapping[tuple[str, str], StockRow] | None, defaults: StockRow
) -> list[Partition]:
    """Series grouped by store, stores and items in sorted order."""
    by: dict[str, list[Series]] = {}
    for s in series:
        by.setdefault(s.store_id, []).append(s)
    out = []
    for store in sorted(by):
        ss = tuple(sorted(by[store], key=lambda s: s.item_id))
        rows = tuple((stock or {}).get(s.key, defaults) for s in ss)
        out.append(Partition(store, ss, rows))
    return out


def _value(s: Series) -> float:
    y, p = s.values[-365:], s.price[-365:]
    if np.all(np.isnan(p)):
        return float(y.sum())
    return float(np.nansum(y * p))


def _num(x: float, places: int = 2) -> str:
    return f"{round(x, places) + 0.0:.{places}f}"  # + 0.0: never "-0.00"


def _window(s: Series, config: PlanConfig) -> Series:
    """The last ``window_days`` before the plan day (a plan for a past day sees only the
    days before it)."""
    if config.plan_date is not None and config.plan_date <= s.end:
        s = s.head(max((config.plan_date - s.start).days, 0))
    return s.tail(config.window_days)


def plan_pair(s: Series, row: StockRow, abc: str, config: PlanConfig) -> list[str]:
    """One output row (see the module docstring)."""
    window = _window(s, config)
    day = config.plan_date or (s.end + dt.timedelta(days=1))
    cal = OrderCalendar(row.lead_time, row.order_days, row.delivery_days)
    order_day = cal.next_order_day(day)
    lead, review = cal.protection(order_day)
    xyz = xyz_class(window.values[-364:])
    targets = config.targets()
    target = min(targets[abc], targets[xyz])
    policy = ForecastPolicy(PolicyTimes(lead, review), target)
    wd = window.weekdays()
    for y, w in zip(window.values.tolist(), wd.tolist(), strict=True):
        policy.observe(y, w)
    mu_p, _var_p, mu_l, _var_l, mu_r = policy.demand(order_day.weekday())
    level = policy.level(order_day.weekday())
    notes = []
    if order_day != day:
        notes.append("no order day")
    if row.capacity is not None and level > row.capacity:
        level = row.capacity
        notes.append("level capped at capacity")
    daily = mu_p / (lead + review)
    q_eoq = eoq(daily, row.order_cost, row.holding_cost)
    quantity = round_order(q_eoq, row.pack, row.min_order) if q_eoq > 0 else 0
    position = row.on_hand + row.on_order
    continuous = quantity > mu_r and quantity > 0
    if continuous:
        qty = size_order(
            position, reorder_point=level, quantity=quantity,
            pack=row.pack, min_order=row.min_order, capacity=row.capacity,
        )  # fmt: skip
    else:
        qty = size_order(
            position, order_up_to=level, pack=row.pack, min_order=row.min_order, capacity=row.capacity
        )
    if position < level and qty == 0 and order_day == day:
        notes.append("capacity leaves no room for an order")
    elif row.capacity is not None and position + qty < level and qty > 0:
        notes.append("order cut to capacity")
    if order_day != day:
        qty = 0
    if not policy.started:
        notes.append("no sale in the window")
    return [
        s.item_id, s.store_id, abc, xyz, _num(target, 4), policy.method, "sQ" if continuous else "RS",
        order_day.isoformat(), cal.arrival(order_day).isoformat(), str(lead), str(review),
        _num(daily, 4), _num(mu_l), _num(mu_p), _num(level - mu_p), str(level), str(level),
        str(quantity) if quantity else "", _num(row.on_hand), str(row.on_order), _num(position), str(qty),
        "; ".join(notes),
    ]  # fmt: skip


def plan_store(part: Partition, config: PlanConfig) -> list[str]:
    """The CSV lines (without header) of one store's pairs, in item order."""
    abc = abc_classes({s.item_id: _value(_window(s, config)) for s in part.series})
    out = []
    for s, row in zip(part.series, part.stock, strict=True):
        cells = plan_pair(s, row, abc[s.item_id], config)
        out.append(",".join(_quote(c) for c in cells))
    return out


def _quote(cell: str) -> str:
    return f'"{cell}"' if any(c in cell for c in ',"\n') else cell


def check_config(config: PlanConfig) -> None:
    """Refuses impossible settings before any work is sent out."""
    if not 0.0 < config.service_level < 1.0:
        raise ReplenishError(f"service level {config.service_level} must be between 0 and 1")
    if config.window_days < 28:
        raise ReplenishError(f"window {config.window_days} days must be at least 28")
    for k, v in config.targets().items():
        if k not in CLASSES or not 0.0 < v < 1.0:
            raise ReplenishError(
                f"class target {k}={v}: classes are {', '.join(CLASSES)} and targets in (0, 1)"
            )
