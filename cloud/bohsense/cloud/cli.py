"""``bohsense cloud run``: the cloud service from settings (env ``BOHSENSE_CLOUD_*``) and flags."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cloud = subparsers.add_parser("cloud", help="the cloud service (ingest, storage, BOH core, API)")
    sub = cloud.add_subparsers(dest="cloud_command", metavar="CLOUD_COMMAND")
    run = sub.add_parser(
        "run",
        help="run ingest and the HTTP API until SIGTERM",
        description="Settings come from BOHSENSE_CLOUD_* environment variables; flags override them.",
    )
    run.add_argument(
        "--broker", metavar="URL", help="MQTT broker, mqtt://host:port (BOHSENSE_CLOUD_BROKER_URL)"
    )
    run.add_argument("--mqtt-protocol", metavar="V", help="5 or 3.1.1 (BOHSENSE_CLOUD_MQTT_PROTOCOL)")
    run.add_argument("--tsdb", metavar="URL", help="time-series store URL (BOHSENSE_CLOUD_TSDB_URL)")
    run.add_argument(
        "--database", metavar="URL", help="BOH core SQLAlchemy URL (BOHSENSE_CLOUD_DATABASE_URL)"
    )
    run.add_argument("--catalog", metavar="TOML", help="catalog to load at start (BOHSENSE_CLOUD_CATALOG)")
    run.add_argument("--api-host", metavar="HOST", help="API bind address (BOHSENSE_CLOUD_API_HOST)")
    run.add_argument("--api-port", metavar="N", type=int, help="API port (BOHSENSE_CLOUD_API_PORT)")
    run.set_defaults(handler=_run)

    def _help(_args: argparse.Namespace) -> int:
        cloud.print_help()
        return 2

    cloud.set_defaults(handler=_help)


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import sys

    from pydantic import ValidationError

    from bohsense.cloud.service import CloudService
    from bohsense.cloud.settings import CloudSettings

    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "broker_url": args.broker,
            "mqtt_protocol": args.mqtt_protocol,
            "tsdb_url": args.tsdb,
            "database_url": args.database,
            "catalog": args.catalog,
            "api_host": args.api_host,
            "api_port": args.api_port,
        }.items()
        if value is not None
    }
    try:
        settings = CloudSettings(**overrides)
    except ValidationError as exc:
        print(f"bohsense cloud run: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    return asyncio.run(CloudService(settings).run(install_signal_handlers=True))
