"""``bohsense cloud run``: the cloud service from settings (env ``BOHSENSE_CLOUD_*``) and flags.

``bohsense cloud migrate``: bring the BOH database's schema to this release's newest
migration and exit (a deployment step of its own; ``run`` also migrates at start, and
several workers starting together wait for one another instead of racing).

``bohsense cloud migrate-timeseries``: rewrite the first time-series schema's ``reading``
measurement into the current one (docs/timeseries.md); idempotent, with progress.

``bohsense cloud quarantine list|reapply``: inspect the quarantine and apply again what a
fault set aside as ``apply-failed`` (one JSON object per line on stdout).

``bohsense cloud broker add-gateway|revoke-gateway|acl``: gateway logins and the ACL on
Mosquitto (``bohsense.cloud.broker``).
"""

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
        epilog="Exit codes: 0 stopped cleanly; 1 a part failed while running; 78 invalid settings or"
        " catalog (restarting will not help); 3 cannot start: the API cannot listen on its address;"
        " 2 a usage error.",
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
    check = sub.add_parser(
        "check-config",
        help="validate the settings (environment and flags) and print them, secrets masked",
        epilog="Exit codes: 0 valid; 78 invalid (the reason on stderr, no value echoed).",
    )
    for flag in ("--broker", "--tsdb", "--database", "--catalog", "--api-host"):
        check.add_argument(flag, metavar="VALUE", help=f"as for run ({flag})")
    check.add_argument("--mqtt-protocol", metavar="V", help="as for run")
    check.add_argument("--api-port", metavar="N", type=int, help="as for run")
    check.set_defaults(handler=_check_config)
    migrate = sub.add_parser(
        "migrate",
        help="bring the BOH database schema to the newest migration, then exit",
        epilog="Exit codes: 0 the schema is current; 1 the database is not reachable or a migration failed;"
        " 78 the database-password credential cannot apply.",
    )
    migrate.add_argument(
        "--database", metavar="URL", help="BOH core SQLAlchemy URL (BOHSENSE_CLOUD_DATABASE_URL)"
    )
    migrate.set_defaults(handler=_migrate)
    mts = sub.add_parser(
        "migrate-timeseries",
        help="rewrite the old `reading` measurement into the current time-series schema (idempotent)",
        description="Reads the old points window by window and writes them in the current schema"
        " (docs/timeseries.md), sites from the BOH database's catalog. Safe to run again.",
        epilog="Exit codes: 0 done (or nothing to do); 1 a store or database is not reachable;"
        " 2 bad arguments, or the old points could not all be verified in the new schema.",
    )
    mts.add_argument("--tsdb", metavar="URL", help="time-series store URL (BOHSENSE_CLOUD_TSDB_URL)")
    mts.add_argument(
        "--database",
        metavar="URL",
        help="BOH core SQLAlchemy URL for the sites (BOHSENSE_CLOUD_DATABASE_URL)",
    )
    mts.add_argument(
        "--window", metavar="S", type=int, default=600, help="seconds read per query (default 600)"
    )
    mts.add_argument(
        "--drop-legacy",
        action="store_true",
        help="drop `reading` once every old point is verified in the new schema",
    )
    mts.set_defaults(handler=_migrate_timeseries)
    _register_quarantine(sub)
    _register_broker(sub)
    _register_identity(sub)

    def _help(_args: argparse.Namespace) -> int:
        cloud.print_help()
        return 2

    cloud.set_defaults(handler=_help)


def _register_broker(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bohsense.cloud.broker._cli import register as register_broker

    register_broker(sub)


def _register_identity(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bohsense.cloud._identity_cli import register as register_identity

    register_identity(sub)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {
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


def _settings(args: argparse.Namespace, command: str) -> Any:
    """The validated settings, or None after saying why on stderr (no value echoed)."""
    import sys

    from pydantic import ValidationError

    from bohsense.cloud.settings import CloudSettings

    try:
        return CloudSettings(**_overrides(args))
    except ValidationError as exc:
        print(f"bohsense cloud {command}: invalid settings: {settings_error(exc)}", file=sys.stderr)
        return None


def settings_error(exc: Any) -> str:
    """A pydantic ``ValidationError`` of ``CloudSettings`` as one line: each problem with
    the setting and its variable, never the value."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        msg = " ".join(str(error["msg"]).removeprefix("Value error, ").split())
        loc = error.get("loc") or ()
        if loc:
            field = str(loc[0])
            where = ".".join(str(part) for part in loc)
            problems.append(f"{where} (BOHSENSE_CLOUD_{field.upper()}): {msg}")
        else:
            problems.append(msg)
    return "; ".join(problems) or "invalid"


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from bohsense.cloud.service import EXIT_CONFIG, CloudService
    from bohsense.contracts.sdnotify import Notifier

    settings = _settings(args, "run")
    if settings is None:
        return EXIT_CONFIG
    notifier = Notifier.from_environment()
    try:
        return asyncio.run(CloudService(settings, notifier=notifier).run(install_signal_handlers=True))
    finally:
        notifier.close()


def _check_config(args: argparse.Namespace) -> int:
    import json

    from bohsense.cloud.service import EXIT_CONFIG

    settings = _settings(args, "check-config")
    if settings is None:
        return EXIT_CONFIG
    print(json.dumps(settings.masked(), indent=2, default=str))
    return 0


def _migrate_timeseries(args: argparse.Namespace) -> int:
    import asyncio
    import json
    import os
    import sys

    from bohsense.cloud.settings import unknown_variable
    from bohsense.cloud.tsdb import SiteCache, StorageError, migrate_legacy, open_store

    problem = unknown_variable(os.environ)
    if problem:
        print(f"bohsense cloud migrate-timeseries: {problem}", file=sys.stderr)
        return 2
    url = args.tsdb or os.environ.get("BOHSENSE_CLOUD_TSDB_URL")
    if not url:
        print(
            "bohsense cloud migrate-timeseries: no --tsdb URL (or BOHSENSE_CLOUD_TSDB_URL)", file=sys.stderr
        )
        return 2
    if args.window <= 0:
        print(
            f"bohsense cloud migrate-timeseries: --window must be positive, not {args.window}",
            file=sys.stderr,
        )
        return 2
    try:
        store = open_store(url)
    except ValueError as exc:
        print(f"bohsense cloud migrate-timeseries: {exc}", file=sys.stderr)
        return 2
    if not hasattr(store, "write_lines"):
        print(json.dumps({"tsdb": store.description, "legacy_points": 0, "note": "nothing to migrate"}))
        return 0
    database = args.database or os.environ.get("BOHSENSE_CLOUD_DATABASE_URL")
    sites = _catalog_sites(database) if database else None
    if sites is not None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import SQLAlchemyError

        try:
            known = sites()
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            masked = make_url(str(database)).render_as_string(hide_password=True)
            print(
                f"bohsense cloud migrate-timeseries: {masked}: {reason[0] if reason else exc}",
                file=sys.stderr,
            )
            return 1
        print(f"sites of {len(known)} gateways from the catalog", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        print(f"migrated {done}/{total} readings", file=sys.stderr, flush=True)

    async def run() -> Any:
        if sites is not None:
            setattr(store, "sites", SiteCache(sites))  # noqa: B010
        try:
            await store.setup()
            return await migrate_legacy(store, window_s=args.window, drop=args.drop_legacy, progress=progress)  # type: ignore[arg-type]
        finally:
            await store.close()

    try:
        report = asyncio.run(run())
    except StorageError as exc:
        print(f"bohsense cloud migrate-timeseries: {store.description}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"tsdb": store.description, **report.as_dict()}))
    if not report.verified:
        print("bohsense cloud migrate-timeseries: fewer points in the new schema than read", file=sys.stderr)
        return 2
    return 0


def _catalog_sites(database: str) -> Any:
    """A loader of the catalog's gateway → site mapping (read-only, no migration)."""
    from sqlalchemy import create_engine, text

    def load() -> dict[str, str]:
        engine = create_engine(database)
        try:
            with engine.connect() as conn:
                return {g: s for g, s in conn.execute(text("SELECT id, site FROM gateways"))}
        finally:
            engine.dispose()

    return load


def _migrate(args: argparse.Namespace) -> int:
    import json
    import os
    import sys

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from bohsense.cloud.boh._db import migrate
    from bohsense.cloud.service import EXIT_CONFIG
    from bohsense.cloud.settings import database_url_with_credential, unknown_variable

    problem = unknown_variable(os.environ)
    if problem:
        print(f"bohsense cloud migrate: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    url = args.database or os.environ.get("BOHSENSE_CLOUD_DATABASE_URL") or "sqlite:///var/bohsense-cloud.db"
    try:
        url = database_url_with_credential(url)
    except ValueError as exc:
        print(f"bohsense cloud migrate: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    masked = make_url(url).render_as_string(hide_password=True)
    engine = create_engine(url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        print(
            f"bohsense cloud migrate: {masked}: {reason[0] if reason else type(exc).__name__}",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()
    print(json.dumps({"database": masked, "revision": revision}))
    return 0


def _register_quarantine(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    quarantine = sub.add_parser("quarantine", help="inspect the quarantine, re-apply what a fault set aside")
    qsub = quarantine.add_subparsers(dest="quarantine_command", metavar="QUARANTINE_COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database", metavar="URL", help="BOH core SQLAlchemy URL (BOHSENSE_CLOUD_DATABASE_URL)"
    )
    common.add_argument("--reason", help="only items quarantined for this reason")
    common.add_argument("--gateway", help="only items of this gateway")
    common.add_argument("--limit", type=int, default=1000, help="at most this many items (default 1000)")
    listing = qsub.add_parser("list", parents=[common], help="items without their payloads, newest first")
    listing.set_defaults(handler=_quarantine_list)
    reapply = qsub.add_parser(
        "reapply",
        parents=[common],
        help="apply 'apply-failed' items again (by --id, or every match of --reason/--gateway)",
    )
    reapply.add_argument(
        "--id", type=int, action="append", dest="ids", metavar="N", help="an item id (repeatable)"
    )
    reapply.add_argument("--actor", default="cli", help="who re-applies (written to the audit log)")
    reapply.set_defaults(handler=_quarantine_reapply)

    def _help(_args: argparse.Namespace) -> int:
        quarantine.print_help()
        return 2

    quarantine.set_defaults(handler=_help)


def _core(args: argparse.Namespace) -> Any:
    import os

    from bohsense.cloud.boh import BohCore
    from bohsense.cloud.settings import database_url_with_credential

    url = args.database or os.environ.get("BOHSENSE_CLOUD_DATABASE_URL") or "sqlite:///var/bohsense-cloud.db"
    return BohCore(database_url_with_credential(url))


def _quarantine_list(args: argparse.Namespace) -> int:
    import json

    core = _core(args)
    try:
        for q in core.list_quarantine(reason=args.reason, gateway=args.gateway, limit=args.limit):
            item = {"id": q.id, "topic": q.topic, "gateway": q.gateway, "reason": q.reason}
            item.update(detail=q.detail, received_ns=q.received_ns, payload_size=q.payload_size)
            print(json.dumps(item))
    finally:
        core.close()
    return 0


def _quarantine_reapply(args: argparse.Namespace) -> int:
    import json
    import sys

    from bohsense.cloud.boh import NotFound

    if not args.ids and not args.reason and not args.gateway:
        print(
            "bohsense cloud quarantine reapply: name items with --id, --reason or --gateway", file=sys.stderr
        )
        return 2
    core = _core(args)
    try:
        ids = args.ids or [
            q.id for q in core.list_quarantine(reason=args.reason, gateway=args.gateway, limit=args.limit)
        ]
        results = core.reapply_quarantined(sorted(ids), actor=args.actor)
    except NotFound as exc:
        print(f"bohsense cloud quarantine reapply: {exc}", file=sys.stderr)
        return 1
    finally:
        core.close()
    for r in results:
        print(json.dumps({"id": r.id, "ok": r.ok, "what": r.what}))
    return 0 if all(r.ok for r in results) else 1
