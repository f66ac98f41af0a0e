"""The ``bohsense`` command line.

Each installed bohsense distribution contributes its subcommands through the
``bohsense.commands`` entry-point group: ``register(subparsers)`` adds a parser
whose ``handler`` default is called with the parsed arguments and returns the
process exit code. A store gateway that installs only ``bohsense-edge`` therefore
gets ``bohsense edge …`` and nothing that would need the cloud's dependencies.

The global options (``--log-level``, ``--log-format``) may be given before the
subcommand or anywhere after it (``bohsense edge run --log-level DEBUG``); ``--version``
prints the version of every installed bohsense distribution.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import distributions, entry_points

__all__ = ["build_parser", "main", "versions"]

Handler = Callable[[argparse.Namespace], int]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: the global options that take a value, accepted after the subcommand too
_GLOBAL_VALUED = ("--log-level", "--log-format")


def versions() -> dict[str, str]:
    """Every installed bohsense distribution and its version, by name."""
    found: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"] or ""
        if name.lower().replace("_", "-").startswith("bohsense"):
            found[name.lower().replace("_", "-")] = dist.version
    return dict(sorted(found.items()))


class _Version(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest=dest, nargs=0, help="print the installed versions and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        found = versions()
        main = found.pop("bohsense-contracts", "unknown")
        lines = [f"bohsense {main}"] + [f"  {name} {version}" for name, version in found.items()]
        print("\n".join(lines))
        parser.exit()


def _level(text: str) -> str:
    level = text.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a log level (choose from {', '.join(LOG_LEVELS)})")
    return level


def _globals_first(argv: Sequence[str]) -> list[str]:
    """``argv`` with the global options moved in front of the subcommand, wherever given
    (up to a ``--``, after which everything is the subcommand's)."""
    front: list[str] = []
    rest: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        arg = items[i]
        if arg == "--":
            rest += items[i:]
            break
        name = arg.split("=", 1)[0]
        if name in _GLOBAL_VALUED:
            if "=" in arg:
                front.append(arg)
            else:
                front += items[i : i + 2]
                i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bohsense",
        description="Sensors to stock to orders: the bohsense edge, cloud, simulators and tools.",
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument(
        "--log-level", type=_level, default="INFO", help=f"logging level ({', '.join(LOG_LEVELS)}; any case)"
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None,
        help="log line format (default text, or what a command's config file says; the flag wins)",
    )
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
    args = parser.parse_args(_globals_first(sys.argv[1:] if argv is None else argv))
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    configure_logging(args.log_level, args.log_format or "text")
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
