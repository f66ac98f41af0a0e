"""``bohsense cloud broker add-gateway|revoke-gateway|acl``: gateway identities on Mosquitto.

``add-gateway`` prints the new credentials once, as one JSON object on stdout; they are
kept nowhere else in clear. Afterwards reload the broker (``systemctl reload mosquitto``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["register"]

DEFAULT_PASSWD = "/etc/mosquitto/bohsense/passwd"
DEFAULT_ACL = "/etc/mosquitto/bohsense/acl"
_RELOAD = "reload the broker to apply it: systemctl reload mosquitto (or SIGHUP)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    broker = sub.add_parser("broker", help="gateway identities on Mosquitto: password file and ACL")
    bsub = broker.add_subparsers(dest="broker_command", metavar="BROKER_COMMAND")
    files = argparse.ArgumentParser(add_help=False)
    files.add_argument(
        "--passwd-file",
        type=Path,
        default=Path(DEFAULT_PASSWD),
        help=f"password file (default {DEFAULT_PASSWD})",
    )
    files.add_argument(
        "--acl-file", type=Path, default=Path(DEFAULT_ACL), help=f"ACL file (default {DEFAULT_ACL})"
    )
    files.add_argument("--cloud-user", default="bohsense-cloud", help="the cloud workers' MQTT username")
    add = bsub.add_parser(
        "add-gateway",
        parents=[files],
        help="create or replace a gateway's broker login and regenerate the ACL",
        epilog='Prints {"username": …, "password": …} once. Exit codes: 0 done; 2 invalid input;'
        " 1 the files cannot be written.",
    )
    add.add_argument("gateway_id", metavar="GATEWAY_ID")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (default: a random one of 32 characters)",
    )
    add.set_defaults(handler=_add)
    revoke = bsub.add_parser(
        "revoke-gateway",
        parents=[files],
        help="remove a gateway's broker login and its ACL block",
        epilog="Exit codes: 0 done; 1 the gateway has no login or the files cannot be written; 2 invalid id.",
    )
    revoke.add_argument("gateway_id", metavar="GATEWAY_ID")
    revoke.set_defaults(handler=_revoke)
    acl = bsub.add_parser(
        "acl",
        help="print the ACL for the given gateways, or for those in the password file",
    )
    acl.add_argument("gateway_ids", metavar="GATEWAY_ID", nargs="*")
    acl.add_argument("--passwd-file", type=Path, default=Path(DEFAULT_PASSWD), help="read the gateways here")
    acl.add_argument("--cloud-user", default="bohsense-cloud", help="the cloud workers' MQTT username")
    acl.set_defaults(handler=_acl)

    def _help(_args: argparse.Namespace) -> int:
        broker.print_help()
        return 2

    broker.set_defaults(handler=_help)


def _fail(command: str, exc: Exception, code: int) -> int:
    print(f"bohsense cloud broker {command}: {exc}", file=sys.stderr)
    return code


def _add(args: argparse.Namespace) -> int:
    from bohsense.cloud.broker import BrokerIdentityError, create_gateway_identity

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        creds = create_gateway_identity(
            args.gateway_id,
            passwd_file=args.passwd_file,
            acl_file=args.acl_file,
            password=password,
            cloud_user=args.cloud_user,
        )
    except BrokerIdentityError as exc:
        return _fail("add-gateway", exc, 2)
    except OSError as exc:
        return _fail("add-gateway", exc, 1)
    print(json.dumps({"username": creds.username, "password": creds.password}))
    print(f"bohsense cloud broker add-gateway: {creds.username} added; {_RELOAD}", file=sys.stderr)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from bohsense.cloud.broker import BrokerIdentityError, UnknownGateway, revoke_gateway_identity

    try:
        revoke_gateway_identity(
            args.gateway_id, passwd_file=args.passwd_file, acl_file=args.acl_file, cloud_user=args.cloud_user
        )
    except UnknownGateway as exc:
        return _fail("revoke-gateway", exc, 1)
    except BrokerIdentityError as exc:
        return _fail("revoke-gateway", exc, 2)
    except OSError as exc:
        return _fail("revoke-gateway", exc, 1)
    print(f"bohsense cloud broker revoke-gateway: {args.gateway_id} revoked; {_RELOAD}", file=sys.stderr)
    return 0


def _acl(args: argparse.Namespace) -> int:
    from bohsense.cloud.broker import BrokerIdentityError, gateway_ids, render_acl

    try:
        ids = args.gateway_ids or gateway_ids(args.passwd_file, cloud_user=args.cloud_user)
        sys.stdout.write(render_acl(ids, cloud_user=args.cloud_user))
    except BrokerIdentityError as exc:
        return _fail("acl", exc, 2)
    return 0
