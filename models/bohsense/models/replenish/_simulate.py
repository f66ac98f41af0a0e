"""Replaying daily demand through a replenishment policy, with lost sales.

For each item × store, days ``0 … W-1`` are history only: the policy observes them and
nothing is stocked or counted. On day ``W`` the shelf starts at the policy's own
order-up-to level with nothing on order, and from then on every day runs, in order:

1. arrivals: orders due today (placed ``L`` days ago) go on the shelf;
2. review (day ``W`` and every ``R`` days after): the policy gives its order-up-to level
   ``S`` from what it has observed (never today's demand); the inventory position (on
   hand + on order) is raised to it with ``round_order`` (minimum order, pack size); the
   order arrives at the start of day ``t + L`` (at once when ``L`` is 0);
3. demand: the day's units are sold from the shelf while it has any; the rest is lost
   (an empty shelf loses the sale — no backorders);
4. the policy observes the day's demand, sold and lost (the shelf sensors see the empty
   shelf; with only till sales, an item whose shelf is empty would never sell again and
   its forecast would never learn that it could).

Counted after warm-up, per series and summed: units demanded, sold and lost, the
end-of-day units on hand, days with lost sales (stockout days), orders and units ordered.
Fill rate = units sold / units demanded.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from bohsense.models.forecast import Series

from ._arithmetic import PolicyTimes, round_order
from ._classify import abc_classes, xyz_class
from ._errors import PolicyError
from ._policy import ForecastPolicy, MovingAveragePolicy

__all__ = ["BASELINE_LADDER", "Tally", "default_class_targets", "replay", "simulate"]

# service levels the baseline is also run at, to find the one matching the policy's fill
BASELINE_LADDER = (0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999)


class _Policy(Protocol):
    method: str

    def observe(self, sold: float, weekday: int) -> None: ...
    def level(self, weekday: int) -> int: ...


@dataclass(slots=True)
class Tally:
    series: int = 0
    days: int = 0
    demanded: float = 0.0
    sold: float = 0.0
    on_hand_days: float = 0.0
    stockout_days: int = 0
    orders: int = 0
    units_ordered: int = 0
    methods: dict[str, int] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        self.series += other.series
        self.days += other.days
        self.demanded += other.demanded
        self.sold += other.sold
        self.on_hand_days += other.on_hand_days
        self.stockout_days += other.stockout_days
        self.orders += other.orders
        self.units_ordered += other.units_ordered
        for k, v in other.methods.items():
            self.methods[k] = self.methods.get(k, 0) + v

    def report(self) -> dict[str, object]:
        return {
            "series": self.series,
            "fill_rate": round(self.sold / self.demanded, 5) if self.demanded else None,
            "avg_on_hand_units": round(self.on_hand_days / self.days, 4) if self.days else None,
            "stockout_day_share": round(self.stockout_days / self.days, 5) if self.days else None,
            "orders": self.orders,
            "units_demanded": int(self.demanded),
            "units_sold": int(self.sold),
            "units_lost": int(self.demanded - self.sold),
            "units_ordered": self.units_ordered,
        }


def replay(
    values: np.ndarray,
    weekdays: np.ndarray,
    policy: _Policy,
    times: PolicyTimes,
    warmup: int,
    *,
    pack: int = 1,
    min_order: int = 0,
) -> Tally:
    """Run one series through ``policy`` (see the module docstring); ``times.first`` must
    be ``warmup``."""
    if times.first != warmup:
        raise PolicyError(f"the first review ({times.first}) must be the first day after warm-up ({warmup})")
    tally = Tally(series=1)
    for t in range(min(warmup, len(values))):
        policy.observe(float(values[t]), int(weekdays[t]))
    if warmup >= len(values):
        return tally
    on_hand = float(policy.level(int(weekdays[warmup])))
    on_order = 0
    arrivals: dict[int, int] = {}
    for t in range(warmup, len(values)):
        wd = int(weekdays[t])
        got = arrivals.pop(t, 0)
        on_hand += got
        on_order -= got
        if times.is_review(t):
            q = round_order(policy.level(wd) - (on_hand + on_order), pack, min_order)
            if q:
                tally.orders += 1
                tally.units_ordered += q
                due = times.arrival(t)
                if due == t:
                    on_hand += q
                else:
                    arrivals[due] = arrivals.get(due, 0) + q
                    on_order += q
        d = float(values[t])
        sold = min(on_hand, d)
        on_hand -= sold
        tally.days += 1
        tally.demanded += d
        tally.sold += sold
        tally.on_hand_days += on_hand
        if sold < d:
            tally.stockout_days += 1
        policy.observe(d, wd)
        tally.methods[policy.method] = tally.methods.get(policy.method, 0) + 1
    return tally


CLASSES = ("A", "B", "C", "X", "Y", "Z")


def default_class_targets(level: float) -> dict[str, float]:
    """Fill-rate targets per ABC and per XYZ class for an overall target ``level``; a
    series gets the lower of its two classes' targets (override with ``class_targets``).

    A, B, X and Y items get the target; C (the last 5 % of value) and Z (erratic weekly
    demand) items twice the shortfall (0.96 for 0.98). The overall fill rate counts units,
    and these items sell few of them while a high fill on their bursts needs the most stock
    per unit sold, so the same units of stock buy more fill on the A/X items."""
    relaxed = max(1.0 - 2.0 * (1.0 - level), level / 2.0)
    return {"A": level, "B": level, "C": relaxed, "X": level, "Y": level, "Z": relaxed}


def _value(s: Series, warmup: int) -> float:
    y, p = s.values[:warmup][-365:], s.price[:warmup][-365:]
    if np.all(np.isnan(p)):
        return float(y.sum())
    return float(np.nansum(y * p))


def simulate(
    series: Sequence[Series],
    *,
    lead_time: int,
    review_days: int,
    service_level: float,
    warmup: int,
    pack: int = 1,
    min_order: int = 0,
    class_targets: Mapping[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, object]:
    """Both policies over every series long enough for the warm-up; classes are set from
    the warm-up days (ABC across series by value, XYZ per series)."""
    if not 0.0 < service_level < 1.0:
        raise PolicyError(f"service level {service_level} must be between 0 and 1")
    if warmup < 28:
        raise PolicyError(f"warm-up {warmup} days must be at least 28 (the forecasts need a past)")
    round_order(0, pack, min_order)  # refuses an impossible pack size or minimum order up front
    targets = {**default_class_targets(service_level), **(class_targets or {})}
    for k, v in targets.items():
        if k not in CLASSES or not 0.0 < v < 1.0:
            raise PolicyError(f"class target {k}={v}: classes are {', '.join(CLASSES)} and targets in (0, 1)")
    usable = [s for s in series if len(s.values) > warmup]
    if not usable:
        raise PolicyError(f"no series is longer than the warm-up of {warmup} days")
    abc = abc_classes({s.key: _value(s, warmup) for s in usable})
    times = PolicyTimes(lead_time, review_days, first=warmup)
    ladder = sorted({*BASELINE_LADDER, service_level})
    names = ["policy", *("baseline" if lv == service_level else f"baseline@{lv}" for lv in ladder)]
    totals = {n: Tally() for n in names}
    per: dict[str, dict[str, Tally]] = {n: {} for n in names}
    counts: dict[str, int] = {}
    for i, s in enumerate(usable, 1):
        if progress and (i % 25 == 0 or i == len(usable)):
            progress(f"{i}/{len(usable)} series")
        cls_abc = abc[s.key]
        cls_xyz = xyz_class(s.values[:warmup][-364:])
        for c in (cls_abc, cls_xyz, cls_abc + cls_xyz):
            counts[c] = counts.get(c, 0) + 1
        wd = s.weekdays()
        runs: dict[str, _Policy] = {
            "policy": ForecastPolicy(times, min(targets[cls_abc], targets[cls_xyz])),
            "baseline": MovingAveragePolicy(times, service_level),
            **{f"baseline@{lv}": MovingAveragePolicy(times, lv) for lv in ladder if lv != service_level},
        }
        for name, run in runs.items():
            tally = replay(s.values, wd, run, times, warmup, pack=pack, min_order=min_order)
            totals[name].add(tally)
            for c in (cls_abc, cls_xyz):
                per[name].setdefault(c, Tally()).add(tally)

    def section(name: str) -> dict[str, object]:
        rep = totals[name].report()
        rep["per_class"] = {c: per[name][c].report() for c in sorted(per[name])}
        return rep

    pol, base = section("policy"), section("baseline")
    # the baseline raised until its fill rate is at least the policy's: on-hand compared
    # at equal or better fill (None when no level of the ladder gets there)
    fill = totals["policy"].sold / totals["policy"].demanded if totals["policy"].demanded else 0.0
    equal: dict[str, object] | None = None
    for name in names[1:]:
        t = totals[name]
        if t.demanded and t.sold / t.demanded >= fill:
            level = service_level if name == "baseline" else float(name.split("@")[1])
            equal = {"baseline_service_level": level, **section(name)}
            break
    ladder_report = {
        name.replace("baseline@", "") if "@" in name else str(service_level): {
            "fill_rate": totals[name].report()["fill_rate"],
            "avg_on_hand_units": totals[name].report()["avg_on_hand_units"],
        }
        for name in names[1:]
    }

    # and the baseline's on-hand at exactly the policy's fill, interpolated on the ladder
    points = sorted((totals[n].sold / totals[n].demanded, totals[n].on_hand_days / totals[n].days)
                    for n in names[1:] if totals[n].demanded and totals[n].days)  # fmt: skip
    at_fill: dict[str, object] | None = None
    for (f0, h0), (f1, h1) in itertools.pairwise(points):
        if f0 <= fill <= f1 and f1 > f0:
            at_fill = {"avg_on_hand_units": round(h0 + (fill - f0) / (f1 - f0) * (h1 - h0), 4)}

    def ratio(other: dict[str, object] | None) -> float | None:
        a, b = pol["avg_on_hand_units"], None if other is None else other["avg_on_hand_units"]
        return round(a / b, 4) if isinstance(a, float) and isinstance(b, float) and b > 0 else None

    return {
        "series": len(usable),
        "series_shorter_than_warmup": len(series) - len(usable),
        "days_after_warmup": totals["policy"].days,
        "lead_time_days": lead_time,
        "review_days": review_days,
        "service_level": service_level,
        "warmup_days": warmup,
        "pack_size": pack,
        "min_order": min_order,
        "class_targets": targets,
        "class_counts": dict(sorted(counts.items())),
        "forecast_method_days": dict(sorted(totals["policy"].methods.items())),
        **{k: v for k, v in pol.items() if k != "per_class"},
        "per_class": pol["per_class"],
        "baseline": base,
        "on_hand_vs_baseline": ratio(base),
        "baseline_at_equal_fill": equal,
        "on_hand_vs_baseline_at_equal_fill": ratio(equal),
        "baseline_on_hand_at_policy_fill": None if at_fill is None else at_fill["avg_on_hand_units"],
        "on_hand_vs_baseline_at_policy_fill": ratio(at_fill),
        "baseline_ladder": ladder_report,
    }
