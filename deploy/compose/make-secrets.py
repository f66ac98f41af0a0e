#!/usr/bin/env python3
"""Generate the Compose stack's secrets: random passwords and the files made from them.

    python3 deploy/compose/make-secrets.py [--dir DIR] [--gateway ID ...] [--force]

Writes into DIR (default: ``secrets/`` beside this file, created mode 0700) one file per
secret that compose.yaml names, each readable by the containers' unprivileged users
(0644; the directory keeps other users of the host out):

=========================  ==============================================================
file                       what
=========================  ==============================================================
postgres_password          the ``bohsense`` PostgreSQL role's password
cloud_database_url         ``postgresql+psycopg://bohsense:…@postgres:5432/bohsense``
cloud_broker_url           ``mqtt://bohsense-cloud:…@mosquitto:1883``
cloud_api_token            the API's bearer token (Prometheus scrapes /metrics with it)
cloud_jwt_secret           the key the API signs people's access tokens with (sign-in)
grafana_admin_password     Grafana's ``admin`` password
mosquitto_passwd           Mosquitto's password file: ``bohsense-cloud`` and each --gateway
gateway_passwords          ``<gateway id> <password>`` per line, to configure the gateways
=========================  ==============================================================

Existing files are kept unless ``--force`` (a running stack's database keeps the password
it was created with); ``--gateway`` with existing files adds those gateways to the password
file and to gateway_passwords, nothing else (then ``docker compose kill -s HUP mosquitto``
makes the broker reread it). Standard library only; the password file is in Mosquitto 2's
PBKDF2-SHA512 format (``$7$``), as ``mosquitto_passwd`` writes it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import secrets
import sys
from pathlib import Path

#: the files compose.yaml mounts as secrets (its top-level ``secrets:`` are exactly these)
SECRETS = (
    "postgres_password",
    "cloud_database_url",
    "cloud_broker_url",
    "cloud_api_token",
    "cloud_jwt_secret",
    "grafana_admin_password",
    "mosquitto_passwd",
)
#: written beside them for the operator, mounted nowhere
OPERATOR_FILES = ("gateway_passwords",)
CLOUD_USER = "bohsense-cloud"
_GATEWAY_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
#: mosquitto_passwd's defaults for the $7$ (PBKDF2-SHA512) format
_ITERATIONS = 101
_SALT_BYTES = 12


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = _ITERATIONS) -> str:
    """A Mosquitto 2 password-file hash: ``$7$<iterations>$<salt b64>$<PBKDF2-SHA512 b64>``."""
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def generate(directory: Path, gateways: list[str], *, force: bool = False) -> list[Path]:
    """Write the secrets into ``directory``; returns the files written (kept ones are not)."""
    bad = [g for g in gateways if not _GATEWAY_RE.match(g) or g == CLOUD_USER]
    if bad:
        raise ValueError(
            f"gateway id {bad[0]!r} must be 1-64 letters, digits, '_', '.', '-' (and not {CLOUD_USER})"
        )
    if len(set(gateways)) != len(gateways):
        raise ValueError("a gateway id is given twice")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    names = SECRETS + OPERATOR_FILES
    existing = [name for name in names if (directory / name).exists()]
    if existing and not force:
        if len(existing) == len(names):
            return _add_gateways(directory, gateways)
        raise FileExistsError(
            f"{directory} already holds {', '.join(existing)}: keep them, or pass --force to replace"
            " every secret (a PostgreSQL volume created with the old password must be recreated too)"
        )
    pg = secrets.token_urlsafe(24)
    mqtt = secrets.token_urlsafe(24)
    gateway_passwords = {g: secrets.token_urlsafe(24) for g in gateways}
    users = {CLOUD_USER: mqtt, **gateway_passwords}
    values = {
        "postgres_password": pg,
        "cloud_database_url": f"postgresql+psycopg://bohsense:{pg}@postgres:5432/bohsense",
        "cloud_broker_url": f"mqtt://{CLOUD_USER}:{mqtt}@mosquitto:1883",
        "cloud_api_token": secrets.token_urlsafe(32),
        "cloud_jwt_secret": secrets.token_urlsafe(48),
        "grafana_admin_password": secrets.token_urlsafe(18),
        "mosquitto_passwd": "".join(f"{user}:{mosquitto_hash(pw)}\n" for user, pw in users.items()),
        "gateway_passwords": "".join(f"{g} {pw}\n" for g, pw in gateway_passwords.items()),
    }
    written = []
    for name in names:
        path = directory / name
        text = values[name] if values[name].endswith("\n") or not values[name] else values[name] + "\n"
        _write(path, text)
        written.append(path)
    return written


def _add_gateways(directory: Path, gateways: list[str]) -> list[Path]:
    """Add gateways to an existing password file (the other secrets are kept as they are)."""
    if not gateways:
        return []
    passwd = directory / "mosquitto_passwd"
    known = {line.split(":", 1)[0] for line in passwd.read_text().splitlines() if ":" in line}
    twice = [g for g in gateways if g in known]
    if twice:
        raise ValueError(f"gateway {twice[0]!r} already has a password in {passwd}")
    passwords = {g: secrets.token_urlsafe(24) for g in gateways}
    _write(passwd, passwd.read_text() + "".join(f"{g}:{mosquitto_hash(pw)}\n" for g, pw in passwords.items()))
    listing = directory / "gateway_passwords"
    _write(listing, listing.read_text() + "".join(f"{g} {pw}\n" for g, pw in passwords.items()))
    return [passwd, listing]


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the bohsense Compose stack's secrets.")
    parser.add_argument("--dir", type=Path, default=Path(__file__).resolve().parent / "secrets")
    parser.add_argument("--gateway", action="append", default=[], metavar="ID", help="a gateway's MQTT user")
    parser.add_argument("--force", action="store_true", help="replace existing secrets")
    args = parser.parse_args(argv)
    try:
        written = generate(args.dir, args.gateway, force=args.force)
    except (ValueError, FileExistsError, OSError) as exc:
        print(f"make-secrets: {exc}", file=sys.stderr)
        return 2
    if not written:
        print(f"make-secrets: {args.dir} already holds every secret; nothing written", file=sys.stderr)
    for path in written:
        print(f"make-secrets: wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
