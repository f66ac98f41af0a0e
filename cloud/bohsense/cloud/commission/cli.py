"""``bohsense store commission import|config|verify``: commission a store from its hand-over sheet.

- ``import SHEET``: check the sheet (every error by sheet, row and column; nothing imported
  if there is one), import it into the catalog, create the gateway's broker login and ACL
  (with ``--passwd-file`` / ``--acl-file`` or ``BOHSENSE_CLOUD_BROKER_PASSWD_FILE`` /
  ``…_ACL_FILE``) and write the gateway's configuration (``--config-out``). The password
  is printed once (or written to ``--password-out``, mode 0600) and never logged.
- ``config --site S``: write the gateway configuration of the site's imported sheet again.
- ``verify --site S``: the checklist (every planned device reports, lane weights are
  plausible, asset sensors are live) as HTML (``--report``) and JSON (``--json``).

The database and time-series store are the cloud's (``--database`` / ``--tsdb`` or
``BOHSENSE_CLOUD_DATABASE_URL`` / ``BOHSENSE_CLOUD_TSDB_URL``).
Exit codes: 0 done (verify: every item passed); 1 verify: an item failed or is missing;
2 invalid sheet, options or settings (the reasons on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]

EXIT_OK, EXIT_NOT_READY, EXIT_INVALID = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    store = subparsers.add_parser("store", help="stores: commissioning a new or refitted store")
    sub = store.add_subparsers(dest="store_command", metavar="STORE_COMMAND")
    commission = sub.add_parser(
        "commission",
        help="import a store's hand-over sheet, make its gateway's login and config, verify it reports",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    csub = commission.add_subparsers(dest="commission_command", metavar="COMMISSION_COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database", metavar="URL", help="BOH core SQLAlchemy URL (BOHSENSE_CLOUD_DATABASE_URL)"
    )

    imp = csub.add_parser("import", parents=[common], help="check and import a hand-over sheet (CSV or XLSX)")
    imp.add_argument("sheet", type=Path, help="the hand-over sheet (.csv or .xlsx)")
    imp.add_argument(
        "--check", action="store_true", help="only check the sheet against the catalog; change nothing"
    )
    imp.add_argument("--actor", default="commissioning", help="who imports (written to the audit log)")
    imp.add_argument("--config-out", type=Path, metavar="TOML", help="write the gateway configuration here")
    imp.add_argument(
        "--passwd-file", type=Path, help="Mosquitto password file (BOHSENSE_CLOUD_BROKER_PASSWD_FILE)"
    )
    imp.add_argument("--acl-file", type=Path, help="Mosquitto ACL file (BOHSENSE_CLOUD_BROKER_ACL_FILE)")
    imp.add_argument(
        "--password-out",
        type=Path,
        metavar="FILE",
        help="write the new password here (0600) instead of printing it",
    )
    imp.set_defaults(handler=_import)

    cfg = csub.add_parser(
        "config", parents=[common], help="write the gateway configuration of a commissioned site"
    )
    cfg.add_argument("--site", required=True)
    cfg.add_argument("--out", type=Path, metavar="TOML", help="the file (default: standard output)")
    cfg.set_defaults(handler=_config)

    ver = csub.add_parser("verify", parents=[common], help="the checklist: what reports, what does not")
    ver.add_argument("--site", required=True)
    ver.add_argument("--tsdb", metavar="URL", help="time-series store URL (BOHSENSE_CLOUD_TSDB_URL)")
    ver.add_argument("--report", type=Path, metavar="HTML", help="write the HTML report here")
    ver.add_argument("--json", type=Path, metavar="FILE", dest="json_out", help="write the JSON report here")
    ver.add_argument(
        "--max-age", type=float, default=600.0, metavar="S", help="data older than this is not live (600)"
    )
    ver.add_argument(
        "--tolerance",
        type=float,
        default=0.3,
        metavar="U",
        help="lane weight: how far from whole units (0.3)",
    )
    ver.set_defaults(handler=_verify)

    for parser in (store, commission):

        def _help(_args: argparse.Namespace, parser: argparse.ArgumentParser = parser) -> int:
            parser.print_help()
            return EXIT_INVALID

        parser.set_defaults(handler=_help)


def _fail(command: str, message: str) -> int:
    print(f"bohsense store commission {command}: {message}", file=sys.stderr)
    return EXIT_INVALID


def _settings(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from bohsense.cloud.settings import CloudSettings

    overrides = {
        k: v
        for k, v in {"database_url": args.database, "tsdb_url": getattr(args, "tsdb", None)}.items()
        if v is not None
    }
    try:
        return CloudSettings(**overrides)
    except ValidationError as exc:
        raise _Invalid(f"invalid settings:\n{exc}") from None


class _Invalid(Exception):
    pass


def _core(settings: Any) -> Any:
    from bohsense.cloud.boh import BohCore

    core = BohCore(settings.database_url)
    core.migrate()
    return core


def _import(args: argparse.Namespace) -> int:
    from bohsense.cloud.commission import (
        PASSWORD_CREDENTIAL,
        CommissionError,
        SheetInvalid,
        check_only,
        create_identity,
        gateway_toml,
        import_plan,
        read_plan,
    )

    try:
        settings = _settings(args)
        data = args.sheet.read_bytes()
    except _Invalid as exc:
        return _fail("import", str(exc))
    except OSError as exc:
        return _fail("import", f"cannot read {args.sheet}: {exc.strerror or exc}")
    passwd = args.passwd_file or getattr(settings, "broker_passwd_file", None)
    acl = args.acl_file or getattr(settings, "broker_acl_file", None)
    if (passwd is None) != (acl is None):
        return _fail("import", "give both the password file and the ACL file, or neither")
    core = _core(settings)
    try:
        plan = read_plan(data, filename=args.sheet.name)
        if args.check:
            check_only(core, plan)
            print(f"{args.sheet}: valid: site {plan.site.id}, gateway {plan.gateway.id}, {_counts(plan)}")
            return EXIT_OK
        result = import_plan(core, plan, actor=args.actor)
    except SheetInvalid as exc:
        return _fail("import", f"{args.sheet}: {exc}")
    finally:
        core.close()
    changed = ", ".join(f"{n} {k}" for k, n in result.changes.items()) or "nothing changed"
    print(f"imported site {result.site}, gateway {result.gateway}: {_counts(plan)}")
    print(f"catalog: {changed}; held batches applied: {result.released}")
    username = plan.gateway.id
    if passwd is not None and acl is not None:
        try:
            creds = create_identity(plan.gateway.id, passwd_file=Path(passwd), acl_file=Path(acl))
        except CommissionError as exc:
            return _fail("import", f"the catalog is imported, but {exc}")
        username = creds.username
        if args.password_out is not None:
            _write_secret(args.password_out, creds.password + "\n")
            print(f"broker login {creds.username}: password written to {args.password_out} (mode 0600)")
        else:
            print(f"broker login {creds.username}; password (shown once: on the gateway, put it in")
            print(f"{PASSWORD_CREDENTIAL} or BOHSENSE_EDGE_BROKER_PASSWORD): {creds.password}")
        print(f"broker files updated: {passwd}, {acl}; reload Mosquitto (systemctl reload mosquitto)")
    else:
        print("no broker login made (give --passwd-file and --acl-file to make one)")
    text = gateway_toml(plan, username=username)
    if args.config_out is not None:
        args.config_out.write_text(text, encoding="utf-8")
        print(f"gateway configuration written to {args.config_out}")
    return EXIT_OK


def _counts(plan: Any) -> str:
    return (
        f"{len(plan.devices)} devices, {len(plan.lanes)} lanes, {len(plan.assets)} assets,"
        f" {len(plan.zones)} RFID antennas"
    )


def _write_secret(path: Path, text: str) -> None:
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


def _config(args: argparse.Namespace) -> int:
    from bohsense.cloud.commission import NotCommissioned, gateway_toml, stored_plan

    try:
        settings = _settings(args)
    except _Invalid as exc:
        return _fail("config", str(exc))
    core = _core(settings)
    try:
        plan, _ = stored_plan(core, args.site)
    except NotCommissioned as exc:
        return _fail("config", str(exc))
    finally:
        core.close()
    text = gateway_toml(plan)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"gateway configuration of {args.site} written to {args.out}")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    import asyncio

    from bohsense.cloud.commission import NotCommissioned, checklist_html, checklist_json

    try:
        settings = _settings(args)
    except _Invalid as exc:
        return _fail("verify", str(exc))
    if not args.max_age > 0 or not 0 < args.tolerance < 0.5:
        return _fail("verify", "--max-age must be positive and --tolerance in (0, 0.5)")
    try:
        result = asyncio.run(_checklist(settings, args))
    except NotCommissioned as exc:
        return _fail("verify", str(exc))
    except ValueError as exc:  # a bad time-series URL
        return _fail("verify", str(exc))
    if args.report is not None:
        args.report.write_text(checklist_html(result), encoding="utf-8")
    if args.json_out is not None:
        args.json_out.write_text(checklist_json(result), encoding="utf-8")
    s = result.summary
    for item in result.items:
        print(f"{item.status:<8} {item.check:<8} {item.subject}: {item.reason}")
    print(f"{result.site}: {s['pass']} pass, {s['fail']} fail, {s['missing']} missing")
    return EXIT_OK if result.ok else EXIT_NOT_READY


async def _checklist(settings: Any, args: argparse.Namespace) -> Any:
    from bohsense.cloud.commission import build_checklist
    from bohsense.cloud.tsdb import open_store
    from bohsense.contracts.timeutil import now_ns

    store = open_store(settings.tsdb_url)
    core = _core(settings)
    try:
        await store.setup()
        return await build_checklist(
            core, store, args.site, now_ns=now_ns(), max_age_s=args.max_age, tolerance=args.tolerance
        )
    finally:
        core.close()
        await store.close()
