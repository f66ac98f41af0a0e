"""``bohsense demo``: a simulated store, end to end, on one machine."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _run(args: argparse.Namespace) -> int:
    from bohsense.demo._runner import DemoOptions, main_sync

    return main_sync(
        DemoOptions(
            duration_s=args.duration,
            broker=args.broker,
            influx=args.influx,
            workdir=args.workdir,
            api_port=args.api_port,
            seed=args.seed,
        )
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="run a simulated store end to end (embedded broker, cloud, gateway, devices)",
        description=(
            "Start an embedded MQTT broker, the cloud service on SQLite, a simulated store "
            "(a smart shelf with shoppers and a compressor developing a bearing fault, on "
            "pseudo-terminals) and its gateway; print where to look and the progress; finish "
            "with a JSON summary on the last line."
        ),
    )
    p.add_argument(
        "--duration",
        type=_positive,
        default=None,
        metavar="S",
        help="run for S seconds (default: until Ctrl-C)",
    )
    p.add_argument(
        "--broker", metavar="URL", help="use this MQTT broker (mqtt://host:port) instead of the embedded one"
    )
    p.add_argument(
        "--influx", metavar="URL", help="store time series in InfluxDB 1.x (http://host:8086[?db=NAME])"
    )
    p.add_argument("--workdir", type=Path, help="keep data and logs here (default: a new temporary folder)")
    p.add_argument("--api-port", type=int, default=8080, help="HTTP API port (a free one if taken; 0: any)")
    p.add_argument("--seed", type=int, default=1, help="random seed of the simulated store")
    p.set_defaults(handler=_run)
