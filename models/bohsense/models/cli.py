"""``bohsense models …``: the analytics on the command line (stdin in, stdout out).

::

    bohsense models score < series.csv                       # one score per row
    bohsense models diagnose --fs 12000 --rpm 1797 --bearing 9,0.3126,1.537 < wave.txt
    bohsense models rul --train train.txt --test test.txt    # unit,rul per test unit
    bohsense models eval series|cwru|cmapss [--data PATH]    # the figures in docs/models.md

Exit codes: 0 done, 2 bad input or usage (the message names the line), 1 a failure.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = subparsers.add_parser("models", help="anomaly scores, vibration diagnosis, remaining life")
    sub = models.add_subparsers(dest="models_command", metavar="MODELS_COMMAND")
    models.set_defaults(handler=lambda args: _usage(models))

    p = sub.add_parser("score", help="anomaly score per row of a timestamp,value CSV on stdin")
    p.set_defaults(handler=_score)

    p = sub.add_parser("diagnose", help="bearing/shaft fault of an acceleration waveform on stdin")
    p.add_argument("--fs", type=float, required=True, help="sampling rate, Hz (>= 5000)")
    p.add_argument("--rpm", type=float, required=True, help="shaft speed, revolutions per minute")
    p.add_argument(
        "--bearing",
        required=True,
        help="N_BALLS,BALL_DIAMETER,PITCH_DIAMETER[,CONTACT_ANGLE_DEG] (diameters in one unit)",
    )
    p.set_defaults(handler=_diagnose)

    p = sub.add_parser("rul", help="remaining useful life of each test unit")
    p.add_argument("--train", required=True, help="run-to-failure table: unit, cycle, features…")
    p.add_argument("--test", required=True, help="table of units still running, same columns")
    p.add_argument(
        "--settings",
        type=int,
        default=0,
        help="how many feature columns after unit and cycle are operating settings (default 0)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the model (default 0)")
    p.set_defaults(handler=_rul)

    p = sub.add_parser("eval", help="evaluate a model; prints one JSON object")
    p.add_argument("target", choices=("series", "cwru", "cmapss"))
    p.add_argument("--data", help="cwru: folder of the .mat files; cmapss: train_FD001.txt")
    p.add_argument("--seed", type=int, default=1000, help="first seed (series, cmapss)")
    p.add_argument("--count", type=int, default=100, help="series: how many generated series (default 100)")
    p.set_defaults(handler=_eval)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _fail(exc: Exception) -> int:
    print(f"bohsense models: {exc}", file=sys.stderr)
    return 2


def _score(args: argparse.Namespace) -> int:
    from bohsense.models.errors import InputError
    from bohsense.models.score import score_csv

    out = sys.stdout
    try:
        for s in score_csv(sys.stdin):
            out.write(f"{s:.6f}\n")
        out.flush()
    except InputError as exc:
        out.flush()
        return _fail(exc)
    except BrokenPipeError:  # the reader stopped early (| head): not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _diagnose(args: argparse.Namespace) -> int:
    import json

    from bohsense.models.errors import InputError
    from bohsense.models.vibration import diagnose, parse_bearing, read_waveform

    try:
        geometry = parse_bearing(args.bearing)
        wave = read_waveform(sys.stdin)
        result = diagnose(wave, fs=args.fs, rpm=args.rpm, geometry=geometry)
    except InputError as exc:
        return _fail(exc)
    print(json.dumps(result.to_dict()))
    return 0


def _rul(args: argparse.Namespace) -> int:
    from bohsense.models.errors import InputError
    from bohsense.models.rul import RulModel, read_table

    try:
        train = read_table(args.train)
        test = read_table(args.test)
        model = RulModel(settings=args.settings, seed=args.seed).fit(train)
        predictions = model.predict(test)
    except InputError as exc:
        return _fail(exc)
    except OSError as exc:
        return _fail(exc)
    print("unit,rul")
    for unit, rul in predictions.items():
        print(f"{unit},{rul:.1f}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    import json

    from bohsense.models.errors import InputError

    try:
        if args.target == "series":
            from bohsense.models.evaluation.series import evaluate

            if args.count < 1:
                raise InputError(f"--count {args.count}: need at least 1 series")
            result = evaluate(range(args.seed, args.seed + args.count))
        elif args.target == "cwru":
            from bohsense.models.evaluation.cwru import evaluate as cwru

            result = cwru(_need(args.data))
        else:
            from bohsense.models.evaluation.cmapss import evaluate as cmapss

            result = cmapss(_need(args.data), seed=args.seed)
    except (InputError, OSError) as exc:
        return _fail(exc)
    print(json.dumps(result, indent=2))
    return 0


def _need(path: str | None) -> str:
    from bohsense.models.errors import InputError

    if not path:
        raise InputError("--data is required for this evaluation")
    return path
