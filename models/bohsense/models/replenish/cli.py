"""``bohsense replenish simulate``: replay daily demand through the (R, S) policy and a
baseline, with lost sales.

::

    bohsense replenish simulate --demand sales.csv.gz --lead-time-days 2 --review-days 1 \\
        --service-level 0.98 --warmup-days 365 [--pack-size 6] [--min-order 12]

The demand file has the format of ``bohsense forecast --history`` (bad rows: the line is
named on stderr, exit 2). Progress goes to stderr; stdout ends with one JSON line (see
docs/forecasting.md for its fields and the simulation's exact rules).
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("replenish", help="replenishment policy: simulate it on a demand history")
    p.set_defaults(handler=lambda args: _usage(p))
    sub = p.add_subparsers(dest="replenish_command", metavar="REPLENISH_COMMAND")
    s = sub.add_parser("simulate", help="lost-sales replay of the policy and a moving-average baseline")
    s.add_argument("--demand", required=True, help="long-format daily demand CSV (gzip accepted)")
    s.add_argument("--lead-time-days", type=int, required=True, help="days from order to arrival")
    s.add_argument("--review-days", type=int, required=True, help="days between reviews")
    s.add_argument("--service-level", type=float, required=True, help="target fill rate, e.g. 0.98")
    s.add_argument("--warmup-days", type=int, required=True, help="first days used as history only")
    s.add_argument("--pack-size", type=int, default=1, help="orders are whole packs of this many units")
    s.add_argument("--min-order", type=int, default=0, help="smallest order in units")
    s.add_argument("--class-targets", default="", help="per-ABC-class fill targets, e.g. A=0.99,C=0.95")
    s.add_argument("--items", type=int, default=0, help="only the first N items (a quick sample); 0: all")
    s.add_argument("--fill-gaps", action="store_true", help="treat missing days as zero-demand days")
    s.set_defaults(handler=_simulate)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _fail(msg: str) -> int:
    print(f"bohsense replenish: {msg}", file=sys.stderr)
    return 2


def _targets(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in filter(None, (t.strip() for t in text.split(","))):
        key, sep, value = part.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise ValueError(f"class target {part!r} is not CLASS=LEVEL") from None
        if not sep:
            raise ValueError(f"class target {part!r} is not CLASS=LEVEL")
    return out


def _simulate(args: argparse.Namespace) -> int:
    from bohsense.models.forecast import HistoryError, read_history

    from ._errors import ReplenishError
    from ._simulate import simulate

    try:
        targets = _targets(args.class_targets)
        series = read_history(args.demand, fill_gaps=args.fill_gaps)
        if args.items > 0:
            keep = sorted({s.item_id for s in series})[: args.items]
            series = [s for s in series if s.item_id in keep]
        report = simulate(
            series,
            lead_time=args.lead_time_days,
            review_days=args.review_days,
            service_level=args.service_level,
            warmup=args.warmup_days,
            pack=args.pack_size,
            min_order=args.min_order,
            class_targets=targets,
            progress=lambda m: print(f"bohsense replenish: {m}", file=sys.stderr),
        )
    except (HistoryError, ReplenishError, ValueError) as exc:
        return _fail(str(exc))
    base = report["baseline"]
    assert isinstance(base, dict)
    print(
        f"policy:   fill rate {report['fill_rate']}, on hand {report['avg_on_hand_units']} units,"
        f" stockout days {report['stockout_day_share']}, orders {report['orders']}"
    )
    print(
        f"baseline: fill rate {base['fill_rate']}, on hand {base['avg_on_hand_units']} units,"
        f" stockout days {base['stockout_day_share']}, orders {base['orders']}"
    )
    print(json.dumps(report))
    return 0
