"""``bohsense forecast …``: daily demand forecasts per item × store, and their back-test.

::

    bohsense forecast --history sales.csv.gz --horizon 28 [--method sb] [--quantiles 0.5,0.95]
    bohsense forecast eval --data sales.csv.gz --holdout 28 [--items 8]

The forecast prints ``item_id,store_id,date,forecast`` (plus one column per requested
quantile) for the ``--horizon`` days after each series' last day, only once every
series has been read and forecast: a bad history prints nothing on stdout, names the
line on stderr and exits 2. ``eval`` prints a JSON report (see docs/forecasting.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

__all__ = ["METHOD_CHOICES", "register"]


# the selection rules and METHODS' names, written out so that building the ``bohsense``
# parser imports nothing heavy (a test checks the list against the package)
METHOD_CHOICES = ("sb", "combo", "gbm", "auto", "snaive", "ses", "sba", "tsb", "esw", "tsbw", "ma28")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    methods = METHOD_CHOICES
    p = subparsers.add_parser("forecast", help="daily demand forecasts per item and store")
    p.add_argument("--history", help="long-format CSV (item_id, store_id, date, value; gzip accepted)")
    p.add_argument("--horizon", type=int, help="days to forecast after each series' last day")
    p.add_argument("--method", default="sb", choices=methods, help="method or selection rule (default sb)")
    p.add_argument("--quantiles", default="", help="comma-separated quantile levels to add, e.g. 0.5,0.95")
    p.add_argument("--fill-gaps", action="store_true", help="treat missing days as zero-sale days")
    p.add_argument("--catalog", help="CSV of the known items (item_id[, store_id]): any other is refused")
    p.set_defaults(handler=_forecast)
    sub = p.add_subparsers(dest="forecast_command", metavar="FORECAST_COMMAND")
    e = sub.add_parser("eval", help="WRMSSE back-test against benchmarks computed in the same run")
    e.add_argument("--data", required=True, help="long-format CSV history (gzip accepted)")
    e.add_argument("--holdout", type=int, default=28, help="days held out at the end (default 28)")
    e.add_argument("--earlier", type=int, default=364, help="the earlier window ends this many days sooner")
    e.add_argument("--items", type=int, default=0, help="only the first N items (a quick sample); 0: all")
    e.add_argument("--fit-stores", default="CA", help="store-id prefix the class table is learned on")
    e.add_argument("--score-stores", default="TX", help="store-id prefix it is then scored on")
    e.set_defaults(handler=_eval)


def _fail(msg: str) -> int:
    print(f"bohsense forecast: {msg}", file=sys.stderr)
    return 2


def _levels(text: str) -> list[float]:
    out = []
    for part in filter(None, (t.strip() for t in text.split(","))):
        try:
            q = float(part)
        except ValueError:
            raise ValueError(f"quantile {part!r} is not a number") from None
        if not 0.0 < q < 1.0:
            raise ValueError(f"quantile {part!r} is not between 0 and 1")
        out.append(q)
    return out


def _forecast(args: argparse.Namespace) -> int:
    from ._errors import HistoryError
    from ._global import GlobalBoosting
    from ._io import read_history, read_known_items
    from ._select import GLOBAL, forecast_series

    if args.history is None or args.horizon is None:
        return _fail("--history FILE and --horizon DAYS are required (or: bohsense forecast eval …)")
    if not 1 <= args.horizon <= 3660:
        return _fail(f"--horizon {args.horizon} must be between 1 and 3660 days")
    try:
        levels = _levels(args.quantiles)
        known = read_known_items(args.catalog) if args.catalog else None
        series = read_history(args.history, fill_gaps=args.fill_gaps, known=known)
    except (HistoryError, ValueError) as exc:
        return _fail(str(exc))
    model = None
    if args.method in GLOBAL:
        print(f"bohsense forecast: fitting the global model on {len(series)} series", file=sys.stderr)
        try:
            model = GlobalBoosting(args.horizon).fit(series)
        except ValueError as exc:
            return _fail(str(exc))
    header = ["item_id", "store_id", "date", "forecast", *(f"q{q:g}" for q in levels)]
    lines = [",".join(header)]
    for i, s in enumerate(series, 1):
        if len(series) > 50 and (i % 50 == 0 or i == len(series)):
            print(f"bohsense forecast: {i}/{len(series)} series", file=sys.stderr)
        fc = forecast_series(s, args.horizon, args.method, model=model)
        qs = [fc.quantile(q) for q in levels]
        for k in range(args.horizon):
            day = s.end + dt.timedelta(days=k + 1)
            cells = [s.item_id, s.store_id, day.isoformat(), f"{fc.point[k]:.4f}"]
            cells += [f"{q[k]:.0f}" for q in qs]
            lines.append(",".join(cells))
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from ._errors import HistoryError
    from ._evaluate import BENCHMARKS, OURS, backtest, coverage, store_holdout
    from ._io import read_history
    from ._select import CANDIDATES

    if args.holdout < 1:
        return _fail(f"--holdout {args.holdout} must be at least 1 day")
    try:
        series = read_history(args.data)
    except HistoryError as exc:
        return _fail(str(exc))
    if args.items > 0:
        keep = sorted({s.item_id for s in series})[: args.items]
        series = [s for s in series if s.item_id in keep]

    def progress(msg: str) -> None:
        print(f"bohsense forecast eval: {msg}", file=sys.stderr)

    methods = list(dict.fromkeys((*OURS, *BENCHMARKS, *CANDIDATES)))
    try:
        report: dict[str, object] = {
            "series": len(series),
            "holdout_days": args.holdout,
            "last_window": backtest(series, args.holdout, methods, progress=progress),
            "quantile_coverage_last_window": coverage(series, args.holdout, (0.5, 0.8, 0.9, 0.95, 0.99)),
            "earlier_window": {
                "ends_days_before_last": args.earlier,
                **backtest(series, args.holdout, methods, back=args.earlier, progress=progress),
            },
        }
        if any(s.store_id.startswith(args.fit_stores) for s in series) and any(
            s.store_id.startswith(args.score_stores) for s in series
        ):
            report["store_holdout"] = {
                "fit_stores": args.fit_stores + "*",
                "score_stores": args.score_stores + "*",
                **store_holdout(series, args.holdout, args.fit_stores, args.score_stores, progress=progress),
            }
    except ValueError as exc:
        return _fail(str(exc))
    print(json.dumps(report))
    return 0
