"""``bohsense replenish simulate``: replay daily demand through the (R, S) policy and a
baseline, with lost sales. ``bohsense replenish plan``: tonight's policy figures and order
for every item × store, on all local cores or a Dask cluster.

::

    bohsense replenish simulate --demand sales.csv.gz --lead-time-days 2 --review-days 1 \\
        --service-level 0.98 --warmup-days 365 [--pack-size 6] [--min-order 12]
    bohsense replenish plan --history sales.csv.gz [--stock stock.csv] [--workers N]
        [--dask tcp://scheduler:8786 | --dask-local N] [--output plan.csv]

The demand file has the format of ``bohsense forecast --history`` (bad rows: the line is
named on stderr, exit 2). Progress goes to stderr; stdout ends with one JSON line (see
docs/forecasting.md for its fields and the simulation's exact rules).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._plan import PlanConfig

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "replenish", help="replenishment policy: simulate it on a demand history, plan tonight's orders"
    )
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
    s.add_argument("--catalog", help="CSV of the known items (item_id[, store_id]): any other is refused")
    s.set_defaults(handler=_simulate)
    _register_plan(sub)


def _register_plan(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "plan", help="tonight's order, reorder point and safety stock for every item x store (CSV)"
    )
    p.add_argument(
        "--history",
        required=True,
        help="long-format daily demand CSV (gzip accepted), or a directory of them (each store in one file;"
        " each file read where its task runs)",
    )
    p.add_argument(
        "--stock",
        help="CSV per item x store: on_hand, on_order and supplier settings (see docs/replenishment-plan.md);"
        " a history row of a pair it does not list is refused. With a --history directory: a directory of"
        " stock files named as the history files",
    )
    p.add_argument("--date", help="the plan day YYYY-MM-DD (default: the day after each series' last day)")
    p.add_argument("--service-level", type=float, default=0.98, help="target fill rate (default 0.98)")
    p.add_argument("--class-targets", default="", help="per-class fill targets, e.g. A=0.99,C=0.95")
    p.add_argument("--window-days", type=int, default=420, help="days of history the policy learns from")
    p.add_argument("--fill-gaps", action="store_true", help="treat missing days as zero-demand days")
    d = p.add_argument_group("defaults for pairs the stock file does not set")
    d.add_argument("--lead-time-days", type=int, default=2, help="calendar days from order to arrival")
    d.add_argument("--order-days", default="all", help="weekdays orders can be placed, e.g. Mon|Thu")
    d.add_argument(
        "--delivery-days", default="all", help="weekdays the supplier delivers, e.g. Mon|Tue|Wed|Thu|Fri"
    )
    d.add_argument("--pack-size", type=int, default=1, help="orders are whole packs of this many units")
    d.add_argument("--min-order", type=int, default=0, help="smallest order in units")
    d.add_argument("--capacity", type=int, default=None, help="most units on the shelf and on order")
    d.add_argument("--order-cost", type=float, default=0.0, help="cost of one order (EOQ; 0: no EOQ)")
    d.add_argument("--holding-cost", type=float, default=0.0, help="cost of holding one unit a year (EOQ)")
    w = p.add_argument_group("where it runs (default: a process per core on this machine)")
    w.add_argument("--workers", type=int, default=0, help="local processes (default: every core)")
    x = w.add_mutually_exclusive_group()
    x.add_argument("--dask", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    x.add_argument("--dask-local", type=int, metavar="N", help="a new local Dask cluster of N processes")
    w.add_argument(
        "--dask-timeout", type=float, default=20.0, help="seconds to reach the scheduler (default 20)"
    )
    p.add_argument("--output", help="write the CSV here (default: stdout); written only when complete")
    p.set_defaults(handler=_plan)


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
    from bohsense.models.forecast import HistoryError, read_history, read_known_items

    from ._errors import ReplenishError
    from ._simulate import simulate

    try:
        targets = _targets(args.class_targets)
        known = read_known_items(args.catalog) if args.catalog else None
        series = read_history(args.demand, fill_gaps=args.fill_gaps, known=known)
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


def _plan(args: argparse.Namespace) -> int:
    import datetime as dt

    from bohsense.models.forecast import HistoryError

    from ._arithmetic import parse_weekdays, round_order
    from ._errors import ReplenishError
    from ._plan import COLUMNS, PlanConfig, StockRow, check_config

    def progress(msg: str) -> None:
        print(f"bohsense replenish plan: {msg}", file=sys.stderr, flush=True)

    start = time.perf_counter()
    try:
        round_order(0, args.pack_size, args.min_order)
        if args.lead_time_days < 0:
            raise ValueError(f"--lead-time-days {args.lead_time_days} must be >= 0")
        if args.capacity is not None and args.capacity < 0:
            raise ValueError(f"--capacity {args.capacity} must be >= 0")
        if args.order_cost < 0 or args.holding_cost < 0:
            raise ValueError("--order-cost and --holding-cost must be >= 0")
        if args.dask_local is not None and args.dask_local < 1:
            raise ValueError(f"--dask-local {args.dask_local} must be at least 1")
        if not args.dask_timeout > 0:
            raise ValueError(f"--dask-timeout {args.dask_timeout} must be > 0 seconds")
        if args.workers < 0:
            raise ValueError(f"--workers {args.workers} must be at least 1 (0: every core)")
        defaults = StockRow(
            lead_time=args.lead_time_days,
            order_days=parse_weekdays(args.order_days),
            delivery_days=parse_weekdays(args.delivery_days),
            pack=args.pack_size,
            min_order=args.min_order,
            capacity=args.capacity,
            order_cost=args.order_cost,
            holding_cost=args.holding_cost,
        )
        try:
            day = dt.date.fromisoformat(args.date) if args.date else None
        except ValueError:
            raise ValueError(f"--date {args.date!r} is not a YYYY-MM-DD day") from None
        config = PlanConfig(
            service_level=args.service_level,
            plan_date=day,
            window_days=args.window_days,
            class_targets=_targets(args.class_targets),
            defaults=defaults,
        )
        check_config(config)
        if Path(args.history).is_dir():
            lines = _plan_files(args, config, progress)
        else:
            lines = _plan_one_file(args, config, progress, start)
    except (HistoryError, ReplenishError, ValueError) as exc:
        print(f"bohsense replenish plan: {exc}", file=sys.stderr)
        return 2
    text = ",".join(COLUMNS) + "\n" + "".join(line + "\n" for line in lines)
    if args.output:  # written beside, then renamed: a reader never sees half a plan
        import os

        part = f"{args.output}.part"
        try:
            with open(part, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            os.replace(part, args.output)
        except OSError as exc:
            Path(part).unlink(missing_ok=True)
            print(
                f"bohsense replenish plan: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr
            )
            return 2
    else:
        sys.stdout.write(text)
    progress(f"{len(lines)} rows in {time.perf_counter() - start:.1f} s")
    return 0


def _where(args: argparse.Namespace) -> str:
    if args.dask:
        return f"Dask at {args.dask}"
    if args.dask_local:
        return f"a local Dask cluster of {args.dask_local}"
    return f"{args.workers or _default_workers()} local process(es)"


def _default_workers() -> int:
    from ._run import default_workers

    return default_workers()


def _plan_one_file(
    args: argparse.Namespace, config: PlanConfig, progress: Callable[[str], None], start: float
) -> list[str]:
    """One history file, read here and sent out by store."""
    from bohsense.models.forecast import read_history

    from ._plan import partition, read_stock
    from ._run import run_dask, run_local

    stock = read_stock(args.stock, config.defaults) if args.stock else None
    known = None if stock is None else (lambda item, store: (item, store) in stock)
    series = read_history(args.history, fill_gaps=args.fill_gaps, known=known)
    if stock is not None:
        have = {s.key for s in series}
        for line, key in enumerate(stock, start=2):
            if key not in have:
                raise ValueError(f"{args.stock}: line {line}: {key[0]} at {key[1]} has no demand history")
    parts = partition(series, stock, config.defaults)
    progress(f"{len(series)} pairs in {len(parts)} stores read in {time.perf_counter() - start:.1f} s")
    progress(f"planning on {_where(args)}")
    if args.dask or args.dask_local:
        return run_dask(
            parts, config, address=args.dask, local_workers=args.dask_local or 0,
            connect_timeout=args.dask_timeout, progress=progress,
        )  # fmt: skip
    return run_local(parts, config, args.workers or _default_workers(), progress)


def _stem(path: Path) -> str:
    name = path.name.removesuffix(".gz")
    return name.removesuffix(".csv")


def _plan_files(args: argparse.Namespace, config: PlanConfig, progress: Callable[[str], None]) -> list[str]:
    """A directory of history files, each read where its task runs, with the stock file of
    the same name from the ``--stock`` directory."""
    from ._run import FileTask, assemble_files, map_dask, map_local, plan_file

    files = sorted(
        p for p in Path(args.history).iterdir() if p.is_file() and p.name.endswith((".csv", ".csv.gz"))
    )
    if not files:
        raise ValueError(f"{args.history} holds no .csv or .csv.gz file")
    stocks: dict[str, Path] = {}
    if args.stock:
        if not Path(args.stock).is_dir():
            raise ValueError(
                "--stock must be a directory of stock files named as the history files when --history is one"
            )
        stocks = {_stem(p): p for p in Path(args.stock).iterdir() if p.is_file() and p.name.endswith(".csv")}
        missing = [f.name for f in files if _stem(f) not in stocks]
        if missing:
            raise ValueError(f"no stock file in {args.stock} for {', '.join(missing)}")
        extra = sorted(set(stocks) - {_stem(f) for f in files})
        if extra:
            raise ValueError(f"stock file(s) {', '.join(extra)} in {args.stock} have no history file")
    tasks = [FileTask(str(f), str(stocks[_stem(f)]) if stocks else None, args.fill_gaps) for f in files]
    progress(f"{len(tasks)} history files, planning on {_where(args)}")
    if args.dask or args.dask_local:
        results = map_dask(
            plan_file, tasks, config, address=args.dask, local_workers=args.dask_local or 0,
            connect_timeout=args.dask_timeout, progress=progress,
        )  # fmt: skip
    else:
        results = map_local(plan_file, tasks, config, args.workers or _default_workers(), progress)
    return assemble_files(tasks, results)
