"""The ``bohsense`` command line.

Each installed bohsense distribution contributes its subcommands through the
``bohsense.commands`` entry-point group: ``register(subparsers)`` adds a parser
whose ``handler`` default is called with the parsed arguments and returns the
process exit code. A store gateway that installs only ``bohsense-edge`` therefore
gets ``bohsense edge …`` and nothing that would need the cloud's dependencies.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bohsense",
        description="Sensors to stock to orders: the bohsense edge, cloud, simulators and tools.",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (DEBUG, INFO, WARNING, ERROR)")
    parser.add_argument("--log-format", choices=("text", "json"), default="text", help="log line format")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for ep in sorted(entry_points(group="bohsense.commands"), key=lambda e: e.name):
        try:
            register: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] = ep.load()
        except ImportError as exc:
            # A distribution that is installed but broken (a missing dependency): keep the
            # rest of the CLI working and say precisely what is wrong when it is used.
            broken = sub.add_parser(ep.name, help=f"(unavailable: {exc})", add_help=False)
            broken.add_argument("rest", nargs=argparse.REMAINDER)
            broken.set_defaults(handler=_unavailable(ep.name, ep.value, exc))
            continue
        register(sub)
    return parser


def _unavailable(name: str, target: str, exc: ImportError) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        print(f"bohsense {name}: cannot load {target}: {exc}", file=sys.stderr)
        return 3

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    from bohsense.contracts.logs import configure_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    configure_logging(args.log_level, args.log_format)
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
