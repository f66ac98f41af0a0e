"""Scoring a shelf run against the device's ground truth.

The truth is what the simulated shelf recorded (``ShelfDevice.ground_truth()["events"]``):
every pick, put-back, restock (with the units after it), every foreign item put on a lane
and taken off again, every basket, hand and dropped item, every fault, reboot and unplug.
A change of units takes effect ``GRAB_S`` after it is recorded (the goods leave the
shelf at the end of the grab).

- **Settling windows**: from 0.5 s before a disturbance of a lane (a change of its units,
  a foreign item put on or taken off, a dropped item) to ``SETTLE_S`` after it, a basket
  or a hand from set down to ``SETTLE_S`` after it is lifted. Outside them the weight is
  still and the count can be judged.
- **Blind time**: a lane whose cell is faulty, whose device is rebooting or unplugged
  (until ``SETTLE_S`` after it is back), that holds a foreign item, or whose SKU was
  changed without recalibration has no true count the gateway could know; there the
  right answer is to withhold the count. Blind time is scored apart.
- **Count exactly right**: every ``SAMPLE_S`` outside settling windows and blind time,
  each lane counts right when the gateway's published count (the last ``units`` reading
  while its last ``shelf.lane_state`` is ``stable``; nothing before its first) equals the
  true units. A withheld count there counts wrong.
- **Wrong counts published**: ``units`` readings whose value differs from the true units
  at their time, anywhere (in blind time any reading but the true units is wrong); those
  of a lane after its SKU was changed are counted apart (``wrong_counts_after_sku_change``).
- **Events**: the true changes of each lane are grouped when the gateway could not tell
  them apart — less than ``SETTLE_S`` apart, or within one stretch of blind time (up to
  ``SEEN_S`` after its cause ended; the change is then reported once the lane is back)
  — and each group's net change is one
  expected event (none if it nets to 0): ``shelf.pick`` when it is negative, else
  ``shelf.restock`` when it holds a restock, else ``shelf.putback``. A detected event of
  the same lane and kind from the group's first change to ``LAG_S`` after its last (or
  after its blind stretch ended) matches it (nearest first, each event once); the
  quantity is exact when the units agree. Precision and recall per kind. A group whose
  last change falls in the run's last ``SETTLE_S`` counts only when it was seen (the run
  may end before it could settle). A change that blind time begins within ``SEEN_S`` of
  (the cable pulled while the lane was still ringing) belongs to that blind stretch; one
  it begins within ``SETTLE_S`` of may be reported after it. Events of a lane
  after its SKU was changed are counted apart (``events_after_sku_change``): there is no
  truth for them, and every one of them is a wrong event.
- **Fault detection latency**: from a cell fault's start (or a reboot's, an unplug's) to
  the first ``shelf.lane_state`` ``fault`` (or ``settling``/``rebooted``) of that lane.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from bohsense.bench._shelf_run import EPOCH_NS, ShelfRun
from bohsense.contracts.events import LaneChange, LaneState
from bohsense.simulators._shelf import GRAB_S

__all__ = ["LAG_S", "SAMPLE_S", "SETTLE_S", "score"]

SETTLE_S = 3.0
#: the gateway settles on a change, or after a blind stretch, within about this long
#: (ringing, then a steady window)
SEEN_S = 0.8
SAMPLE_S = 0.5
LAG_S = 6.0
WARMUP_S = 5.0


@dataclass
class _Change:
    t: float
    lane: int
    delta: int
    kind: str


def _t(ts_ns: int) -> float:
    return (ts_ns - EPOCH_NS) / 1e9


def _lane_of(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _inside(intervals: list[tuple[float, float]], t: float) -> tuple[float, float] | None:
    i = bisect.bisect_right(intervals, (t, float("inf"))) - 1
    if i >= 0 and intervals[i][0] <= t <= intervals[i][1]:
        return intervals[i]
    return None


def score(run: ShelfRun) -> dict[str, Any]:
    scenario = run.scenario
    n = len(scenario.lanes)
    duration = scenario.duration_s
    lanes = range(1, n + 1)
    truth_units: dict[int, list[tuple[float, int | None]]] = {
        i: [(0.0, spec.units)] for i, spec in zip(lanes, scenario.lanes, strict=True)
    }
    changes: list[_Change] = []
    settling: dict[int, list[tuple[float, float]]] = defaultdict(list)
    blind: dict[int, list[tuple[float, float]]] = defaultdict(list)
    foreign_since: dict[int, float] = {}
    sku_changed: dict[int, float] = {}
    fault_starts: list[tuple[str, int, float]] = []
    off_at: float | None = None
    unplug_at: float | None = None
    for e in run.device.ground_truth()["events"]:
        kind, t = e["kind"], e["t_s"]
        lane = e.get("lane", 0)
        if kind in ("pick", "putback", "restock"):
            tp = t + GRAB_S
            before = truth_units[lane][-1][1]
            truth_units[lane].append((tp, e["units_after"]))
            if lane not in sku_changed and before is not None:
                changes.append(_Change(tp, lane, e["units_after"] - before, kind))
            settling[lane].append((t - 0.5, tp + SETTLE_S))
        elif kind == "misplaced":
            foreign_since.setdefault(lane, t)
            settling[lane].append((t - 0.5, t + GRAB_S + SETTLE_S))
        elif kind == "tidy":
            start = foreign_since.pop(lane, None)
            if start is not None:
                blind[lane].append((start, t + GRAB_S))
            settling[lane].append((t - 0.5, t + GRAB_S + SETTLE_S))
        elif kind in ("basket", "hand"):
            settling[lane].append((t - 0.5, t + e["duration_s"] + SETTLE_S))
        elif kind == "drop":
            settling[lane].append((t - 0.5, t + SETTLE_S))
        elif kind == "fault":
            blind[lane].append((t, t + e["duration_s"]))
            fault_starts.append((e["fault"], lane, t))
        elif kind == "sku_change":
            sku_changed[lane] = t
            truth_units[lane].append((t + GRAB_S, None))
            blind[lane].append((t, duration + 1.0))
        elif kind == "power-off":
            off_at = t
        elif kind == "unplug":
            unplug_at = t
        elif kind == "reboot" and off_at is not None:
            for lane_n in lanes:
                blind[lane_n].append((off_at, t))
            fault_starts.append(("unplug" if unplug_at is not None else "reboot", 0, off_at))
            off_at = unplug_at = None
    for lane, start in foreign_since.items():
        blind[lane].append((start, duration + 1.0))
    settle_iv = {i: _merge(settling[i]) for i in lanes}
    # blind time for judging counts ends SETTLE_S after its cause; for grouping changes,
    # SEEN_S after it (the lane is seen settled again by then)
    blind_iv = {i: _merge([(a, b + SETTLE_S) for a, b in blind[i]]) for i in lanes}
    group_iv = {i: _merge([(a, b + SEEN_S) for a, b in blind[i]]) for i in lanes}

    def value_at(series: list[tuple[float, int | None]], t: float) -> int | None:
        k = bisect.bisect_right([x for x, _ in series], t) - 1
        return series[max(k, 0)][1]

    def truth_at(lane: int, t: float) -> int | None:
        return value_at(truth_units[lane], t)

    # -- the gateway's published count over time ----------------------------------------
    timeline: dict[int, list[tuple[float, str, int | None]]] = defaultdict(list)  # (t, what, value)
    for r in run.readings:
        timeline[_lane_of(r.device)].append((_t(r.ts), "units", int(r.value)))
    states = [e for e in run.events if e.kind == "shelf.lane_state"]
    for e in states:
        assert isinstance(e.attrs, LaneState)
        timeline[_lane_of(e.attrs.lane)].append((_t(e.ts), e.attrs.state, e.attrs.units))
    published: dict[int, list[tuple[float, int | None]]] = {}
    for lane in lanes:
        series: list[tuple[float, int | None]] = [(0.0, None)]
        units: int | None = None
        stable = False
        for t, what, value in sorted(timeline[lane], key=lambda x: (x[0], x[1] != "units")):
            if what == "units":
                units = value
            else:
                stable = what == "stable"
            series.append((t, units if stable else None))
        published[lane] = series

    def published_at(lane: int, t: float) -> int | None:
        return value_at(published[lane], t)

    judged = right = 0
    blind_samples = withheld = blind_wrong = blind_wrong_sku = 0
    t = WARMUP_S
    while t < duration:
        for lane in lanes:
            if _inside(settle_iv[lane], t):
                continue
            got = published_at(lane, t)
            if _inside(blind_iv[lane], t):
                blind_samples += 1
                if got is None:
                    withheld += 1
                elif got != truth_at(lane, t):
                    if t >= sku_changed.get(lane, float("inf")):
                        blind_wrong_sku += 1
                    else:
                        blind_wrong += 1
                continue
            judged += 1
            right += got is not None and got == truth_at(lane, t)
        t += SAMPLE_S
    wrong = [r for r in run.readings if int(r.value) != truth_at(_lane_of(r.device), _t(r.ts) - 0.05)]
    wrong_sku = [r for r in wrong if _t(r.ts) >= sku_changed.get(_lane_of(r.device), float("inf"))]
    wrong_published = len(wrong) - len(wrong_sku)

    # -- events -------------------------------------------------------------------------
    expected: list[dict[str, Any]] = []
    for lane in lanes:
        group: list[_Change] = []
        until = 0.0

        def close(group: list[_Change], until: float, lane: int = lane) -> None:
            net = sum(c.delta for c in group)
            if net == 0 or not group:
                return
            kind = (
                "pick" if net < 0 else ("restock" if any(c.kind == "restock" for c in group) else "putback")
            )
            expected.append(
                {
                    "lane": lane,
                    "kind": f"shelf.{kind}",
                    "units": abs(net),
                    "t0": group[0].t,
                    "t1": until,
                    # too close to the end of the run to be seen settled: scored only if seen
                    "optional": group[-1].t > duration - SETTLE_S,
                }
            )

        group_window: tuple[float, float] | None = None
        for c in (c for c in changes if c.lane == lane):
            # a change the lane could not settle on before blind time began belongs to it
            window = _inside(group_iv[lane], c.t) or _inside(group_iv[lane], c.t + SEEN_S)
            soon = _inside(group_iv[lane], c.t + SETTLE_S)  # it may be reported after it, too
            if group and (c.t - group[-1].t < SETTLE_S or (window is not None and window == group_window)):
                group.append(c)
            else:
                close(group, until)
                group, group_window, until = [c], window, 0.0
            until = max(until, c.t + LAG_S, *((w[1] + LAG_S) for w in (window, soon) if w))
        close(group, until)
    detected = [e for e in run.events if e.kind != "shelf.lane_state"]
    after_sku = [
        e for e in detected
        if isinstance(e.attrs, LaneChange) and _lane_of(e.attrs.lane) in sku_changed
        and _t(e.ts) >= sku_changed[_lane_of(e.attrs.lane)]
    ]  # fmt: skip
    scored = [e for e in detected if e not in after_sku]
    used: set[int] = set()
    missed: list[dict[str, Any]] = []
    per_kind: dict[str, dict[str, int]] = defaultdict(
        lambda: {"expected": 0, "detected": 0, "matched": 0, "exact": 0}
    )
    for e in scored:
        per_kind[e.kind]["detected"] += 1
    for x in sorted(expected, key=lambda x: (x["optional"], x["t1"])):
        if not x["optional"]:
            per_kind[x["kind"]]["expected"] += 1
        best: tuple[float, int] | None = None
        for i, e in enumerate(scored):
            attrs = e.attrs
            if i in used or e.kind != x["kind"] or not isinstance(attrs, LaneChange):
                continue
            if _lane_of(attrs.lane) != x["lane"] or not x["t0"] <= _t(e.ts) <= x["t1"]:
                continue
            gap = abs(_t(e.ts) - x["t0"])
            if best is None or gap < best[0]:
                best = (gap, i)
        if best is None:
            if not x["optional"]:
                missed.append({k: round(v, 2) if isinstance(v, float) else v for k, v in x.items()})
        else:
            if x["optional"]:
                per_kind[x["kind"]]["expected"] += 1
            used.add(best[1])
            per_kind[x["kind"]]["matched"] += 1
            attrs = scored[best[1]].attrs
            assert isinstance(attrs, LaneChange)
            per_kind[x["kind"]]["exact"] += attrs.units == x["units"]
    events_out = {}
    for kind in ("shelf.pick", "shelf.putback", "shelf.restock"):
        k = per_kind[kind]
        events_out[kind.removeprefix("shelf.")] = {
            **k,
            "precision": round(k["matched"] / k["detected"], 4) if k["detected"] else None,
            "recall": round(k["matched"] / k["expected"], 4) if k["expected"] else None,
        }
    matched = sum(k["matched"] for k in per_kind.values())
    exact = sum(k["exact"] for k in per_kind.values())

    # -- faults -------------------------------------------------------------------------
    latencies = []
    for kind, lane, start in fault_starts:
        flagged = None
        for e in states:
            attrs = e.attrs
            assert isinstance(attrs, LaneState)
            if _t(e.ts) < start or (lane and _lane_of(attrs.lane) != lane):
                continue
            if attrs.state == "fault" or (lane == 0 and attrs.reason in ("rebooted", "detached")):
                flagged = _t(e.ts)
                break
        latencies.append(
            {"fault": kind, "lane": lane, "at_s": round(start, 2),
             "flagged_after_s": None if flagged is None else round(flagged - start, 2)}
        )  # fmt: skip
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "unit_spread": scenario.unit_spread,
        "duration_s": duration,
        "count_exact": round(right / judged, 5) if judged else None,
        "count_samples": judged,
        "count_right": right,
        "wrong_counts_published": wrong_published,
        "units_readings": len(run.readings),
        "blind_samples": blind_samples,
        "blind_withheld": round(withheld / blind_samples, 4) if blind_samples else None,
        "blind_withheld_samples": withheld,
        "blind_wrong": blind_wrong,
        "blind_wrong_after_sku_change": blind_wrong_sku,
        "events": events_out,
        "quantity_exact": round(exact / matched, 4) if matched else None,
        "events_after_sku_change": len(after_sku),
        "wrong_counts_after_sku_change": len(wrong_sku),
        "faults": latencies,
        "missed_events": missed[:20],
        "false_events": [
            {"lane": _lane_of(e.attrs.lane), "kind": e.kind, "units": e.attrs.units, "t": round(_t(e.ts), 2)}
            for i, e in enumerate(scored)
            if i not in used and isinstance(e.attrs, LaneChange)
        ][:20],
        "lane_states": len(states),
    }
