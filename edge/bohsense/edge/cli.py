"""``bohsense edge …``: run the store gateway, or check its configuration.

::

    bohsense edge run --config gateway.toml
    bohsense edge check-config --config gateway.toml

``--config`` defaults to ``$BOHSENSE_EDGE_CONFIG``. Exit codes: 0 after a clean stop
(SIGTERM/SIGINT), 78 (``EX_CONFIG``) for an invalid configuration (one line on stderr
saying what is wrong; the unit does not restart on it), 1 for a failure while running, 2
for a command-line usage error.
SIGHUP (``systemctl reload``) reads the configuration again: an invalid file is
reported and changes nothing; ``log_format`` takes effect at once; every other change is
listed by section as needing a restart (the outbox, the broker session and the drivers
are not swapped under a running gateway). The gateway keeps running either way; under
systemd it sends RELOADING=1 before and READY=1 (with a STATUS= saying the outcome) after.
``check-config`` validates, then builds every driver and the MQTT client exactly as
``run`` does before its first I/O (``bohsense.edge.preflight``), so a configuration
``run`` cannot start (an unknown driver kind, a bad driver option, a TLS setup that
cannot be made) fails ``check-config`` too, with the exit code ``run`` would give.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

__all__ = ["EXIT_CONFIG", "register"]

#: sysexits.h EX_CONFIG: the configuration is wrong, restarting will not help
EXIT_CONFIG = 78


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    edge = subparsers.add_parser("edge", help="the store gateway (edge agent)")
    sub = edge.add_subparsers(dest="edge_command", metavar="EDGE_COMMAND")
    edge.set_defaults(handler=lambda args: _usage(edge))
    default = os.environ.get("BOHSENSE_EDGE_CONFIG")
    for name, handler, text in (
        ("run", _run, "run the gateway until SIGTERM/SIGINT"),
        ("check-config", _check_config, "validate the configuration and print the effective settings"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument(
            "--config",
            required=default is None,
            default=default,
            help="gateway TOML file (default: $BOHSENSE_EDGE_CONFIG)",
        )
        p.set_defaults(handler=handler)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _load(args: argparse.Namespace) -> Any:
    import sys

    from bohsense.edge.errors import ConfigError
    from bohsense.edge.settings import load_settings

    try:
        return load_settings(args.config)
    except ConfigError as exc:
        print(f"bohsense edge: {exc}", file=sys.stderr)
        return None


def _check_config(args: argparse.Namespace) -> int:
    """Validate, then build every driver and the MQTT client as ``run`` does (no I/O):
    whatever would stop ``run`` before it starts fails here with ``run``'s exit code."""
    import json
    import sys

    from bohsense.edge.drivers.base import DriverError
    from bohsense.edge.errors import EdgeError
    from bohsense.edge.preflight import check

    settings = _load(args)
    if settings is None:
        return EXIT_CONFIG
    try:
        check(settings)
    except (DriverError, EdgeError) as exc:
        print(f"bohsense edge: {exc}", file=sys.stderr)
        return _exit_code(exc)
    print(json.dumps(settings.masked(), indent=2))
    return 0


def _reload(args: argparse.Namespace, current: Any, log: Any) -> tuple[Any, str]:
    """SIGHUP: the settings now in effect (``current``, or the new ones when only what
    can change at run time changed), and one line saying what was done (systemd's STATUS);
    logs what was done and what needs a restart."""
    from bohsense.contracts.logs import configure_logging
    from bohsense.edge.errors import ConfigError
    from bohsense.edge.settings import load_settings

    try:
        new = load_settings(args.config)
    except ConfigError as exc:
        log.error("reload: configuration not changed: %s", exc)
        return current, f"reload refused, configuration not changed: {exc}"
    old_view, new_view = current.masked(), new.masked()
    changed = sorted(k for k in set(old_view) | set(new_view) if old_view.get(k) != new_view.get(k))
    if "log_format" in changed and getattr(args, "log_format", None) is None:
        configure_logging(getattr(args, "log_level", "INFO"), new.log_format)
    needs_restart = [k for k in changed if k != "log_format"]
    if needs_restart:
        log.warning("reload: %s changed and take(s) effect at restart", ", ".join(needs_restart))
        return current, f"reloaded; {', '.join(needs_restart)} changed and need a restart"
    log.info("reload: configuration read%s", ", log_format applied" if changed else ", nothing changed")
    return new, "reloaded; log_format applied" if changed else "reloaded; nothing changed"


def _exit_code(exc: Exception) -> int:
    """78: the configuration cannot work (restarting will not help); 1: anything else."""
    from bohsense.edge.drivers.base import DriverError
    from bohsense.edge.errors import ConfigError, UplinkError

    return EXIT_CONFIG if isinstance(exc, ConfigError | DriverError | UplinkError) else 1


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import signal

    from bohsense.contracts.logs import configure_logging
    from bohsense.contracts.sdnotify import Notifier
    from bohsense.edge.agent import EdgeAgent
    from bohsense.edge.drivers.base import DriverError
    from bohsense.edge.errors import EdgeError

    settings = _load(args)
    if settings is None:
        return EXIT_CONFIG
    if getattr(args, "log_format", None) is None and settings.log_format != "text":
        # the config file's format, unless --log-format was given (the flag wins)
        configure_logging(getattr(args, "log_level", "INFO"), settings.log_format)
    log = logging.getLogger("bohsense.edge")
    notifier = Notifier.from_environment()
    notifier.status("starting: opening the outbox")

    running = [settings]

    async def main() -> None:
        agent = EdgeAgent(settings, notifier=notifier)

        def reload() -> None:
            started = agent.started.is_set()  # before READY=1, systemd is not told of a reload
            if started:
                notifier.reloading()
            running[0], outcome = _reload(args, running[0], log)
            if started:
                notifier.ready(f"{outcome}; {agent.status_text()}")

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, agent.stop)
        loop.add_signal_handler(signal.SIGHUP, reload)
        await agent.run()

    try:
        asyncio.run(main())
    except (DriverError, EdgeError) as exc:
        log.error("edge agent cannot run: %s", exc)
        return _exit_code(exc)
    finally:
        notifier.close()
    return 0
