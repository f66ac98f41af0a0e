"""``bohsense cloud user add|list|set-password|disable|enable`` and ``bohsense cloud
api-key create|list|revoke``: people and machines of the API, in the BOH database.

A password is read from stdin (``--password-stdin``, one line) or asked for twice on a
terminal; never from the command line, where ``ps`` and the shell history would keep it.
``api-key create`` prints the key once, as one JSON object on stdout; only its hash is
kept. Exit codes: 0 done; 1 refused (no such user or key, a user of that name exists,
the database cannot be used); 2 invalid input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database", metavar="URL", help="BOH core SQLAlchemy URL (BOHSENSE_CLOUD_DATABASE_URL)"
    )
    user = sub.add_parser("user", help="the people who sign in to the API: roles, stores, passwords")
    usub = user.add_subparsers(dest="user_command", metavar="USER_COMMAND")
    password = argparse.ArgumentParser(add_help=False)
    password.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (else: asked on the terminal)",
    )
    add = usub.add_parser("add", parents=[common, password], help="add a user (with a password)")
    add.add_argument("name")
    add.add_argument("--role", required=True, help="technician, store_manager, planner, hq or admin")
    add.add_argument(
        "--site",
        action="append",
        dest="sites",
        metavar="SITE",
        help="a store it sees (repeatable; none: every store)",
    )
    add.add_argument("--display-name", default="")
    add.add_argument("--language", default=None)
    add.add_argument("--no-password", action="store_true", help="add without a password (cannot sign in yet)")
    add.set_defaults(handler=_user_add)
    listing = usub.add_parser("list", parents=[common], help="one JSON object per user")
    listing.set_defaults(handler=_user_list)
    setpw = usub.add_parser(
        "set-password", parents=[common, password], help="set a user's password (ends its sign-ins)"
    )
    setpw.add_argument("name")
    setpw.set_defaults(handler=_user_set_password)
    for verb, value in (("disable", True), ("enable", False)):
        p = usub.add_parser(
            verb, parents=[common], help=f"{verb} a user" + (" (ends its sign-ins)" if value else "")
        )
        p.add_argument("name")
        p.set_defaults(handler=_user_disable, disabled=value)

    key = sub.add_parser("api-key", help="machines' API keys: roles, scopes, stores, expiry")
    ksub = key.add_subparsers(dest="key_command", metavar="API_KEY_COMMAND")
    create = ksub.add_parser(
        "create", parents=[common], help="create a key", epilog='Prints {"id": …, "key": "bsk_…"} once.'
    )
    create.add_argument("name")
    create.add_argument("--role", required=True)
    create.add_argument(
        "--scope",
        action="append",
        dest="scopes",
        required=True,
        metavar="SCOPE",
        help="repeatable: read, pos:write, …",
    )
    create.add_argument(
        "--site", action="append", dest="sites", metavar="SITE", help="repeatable; none: every store"
    )
    create.add_argument(
        "--expires-days",
        type=float,
        default=None,
        metavar="DAYS",
        help="valid this long (default: until revoked)",
    )
    create.add_argument("--created-by", default="cli")
    create.set_defaults(handler=_key_create)
    klist = ksub.add_parser("list", parents=[common], help="one JSON object per key (never its secret)")
    klist.set_defaults(handler=_key_list)
    revoke = ksub.add_parser("revoke", parents=[common], help="revoke a key by its id")
    revoke.add_argument("key_id", type=int)
    revoke.set_defaults(handler=_key_revoke)

    for parser in (user, key):

        def _help(_args: argparse.Namespace, parser: argparse.ArgumentParser = parser) -> int:
            parser.print_help()
            return 2

        parser.set_defaults(handler=_help)


def _authority(args: argparse.Namespace) -> Any:
    from bohsense.cloud.boh import BohCore
    from bohsense.cloud.identity import Authority, AuthorityConfig
    from bohsense.cloud.settings import database_url_with_credential

    url = args.database or os.environ.get("BOHSENSE_CLOUD_DATABASE_URL") or "sqlite:///var/bohsense-cloud.db"
    core = BohCore(database_url_with_credential(url))
    return core, Authority(core.engine, AuthorityConfig())


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        print("give the password with --password-stdin (stdin is not a terminal)", file=sys.stderr)
        return None
    import getpass

    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        print("the passwords differ", file=sys.stderr)
        return None
    return first


def _run(command: str, args: argparse.Namespace, action: Any) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bohsense.cloud.identity import IdentityError, IdentityValueError

    try:
        core, authority = _authority(args)
    except ValueError as exc:
        print(f"bohsense cloud {command}: {exc}", file=sys.stderr)
        return 2
    try:
        return int(action(authority))
    except IdentityValueError as exc:
        print(f"bohsense cloud {command}: {exc}", file=sys.stderr)
        return 2
    except IdentityError as exc:
        print(f"bohsense cloud {command}: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(
            f"bohsense cloud {command}: the database cannot be used ({type(exc).__name__});"
            " is it migrated (bohsense cloud migrate)?",
            file=sys.stderr,
        )
        return 1
    finally:
        core.close()


def _user_json(u: Any) -> str:
    return json.dumps(
        {
            "name": u.name,
            "role": u.role,
            "sites": list(u.sites) if u.sites is not None else None,
            "disabled": u.disabled,
            "display_name": u.display_name,
            "language": u.language,
            "has_password": u.has_password,
        }
    )


def _user_add(args: argparse.Namespace) -> int:
    password = None
    if not args.no_password:
        password = _read_password(args)
        if password is None:
            return 2

    def act(authority: Any) -> int:
        u = authority.add_user(
            args.name,
            role=args.role,
            password=password,
            sites=args.sites,
            display_name=args.display_name,
            language=args.language,
        )
        print(_user_json(u))
        return 0

    return _run("user add", args, act)


def _user_list(args: argparse.Namespace) -> int:
    def act(authority: Any) -> int:
        for u in authority.store.users():
            print(_user_json(u))
        return 0

    return _run("user list", args, act)


def _user_set_password(args: argparse.Namespace) -> int:
    password = _read_password(args)
    if password is None:
        return 2

    def act(authority: Any) -> int:
        print(_user_json(authority.update_user(args.name, password=password)))
        return 0

    return _run("user set-password", args, act)


def _user_disable(args: argparse.Namespace) -> int:
    def act(authority: Any) -> int:
        print(_user_json(authority.update_user(args.name, disabled=args.disabled)))
        return 0

    return _run("user disable" if args.disabled else "user enable", args, act)


def _key_create(args: argparse.Namespace) -> int:
    def act(authority: Any) -> int:
        expires = None
        if args.expires_days is not None:
            if args.expires_days <= 0:
                print("bohsense cloud api-key create: --expires-days must be positive", file=sys.stderr)
                return 2
            expires = authority.now() + int(args.expires_days * 86_400 * 1e9)
        record, key = authority.create_key(
            args.name,
            role=args.role,
            scopes=args.scopes,
            sites=args.sites,
            expires_ns=expires,
            created_by=args.created_by,
        )
        print(json.dumps({**record.summary(authority.now()), "key": key}))
        print(
            f"bohsense cloud api-key create: key {record.id} ({record.name}) created;"
            " the key is shown this once",
            file=sys.stderr,
        )
        return 0

    return _run("api-key create", args, act)


def _key_list(args: argparse.Namespace) -> int:
    def act(authority: Any) -> int:
        now = authority.now()
        for k in authority.store.api_keys():
            print(json.dumps(k.summary(now)))
        return 0

    return _run("api-key list", args, act)


def _key_revoke(args: argparse.Namespace) -> int:
    def act(authority: Any) -> int:
        print(json.dumps(authority.store.revoke_key(args.key_id).summary(authority.now())))
        return 0

    return _run("api-key revoke", args, act)
