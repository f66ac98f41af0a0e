"""Broker identity: per-gateway Mosquitto credentials and the ACL that confines them.

Each gateway logs in to Mosquitto with its gateway id as username (or, on a listener with
``use_identity_as_username``, with a client certificate whose CN is the gateway id). Its
password lives in Mosquitto's password file as a ``$7$`` entry (PBKDF2-SHA512, the format
Mosquitto 2 writes with ``mosquitto_passwd``), and the ACL file grants it its own topics
only, one ``user`` block per gateway, derived from the topic table
(``bohsense.contracts.topics.CHANNELS``):

- a gateway writes the channels it sends (``readings``, ``status``, ``result``) and reads
  the ones the cloud sends it (``ack``, ``cmd``) under ``bohsense/v1/gw/<its id>/``;
- the cloud user reads every gateway's uplink channels and writes every downlink channel;
- the technicians' user reads the alert channels (every gateway's and every store's,
  ``topics.SITE_CHANNELS``); a store's technician login (``site_logins``) reads only its
  stores' channels;
- nothing else is granted, and Mosquitto denies what no line grants.

``create_gateway_identity`` and ``revoke_gateway_identity`` change both files together,
under a lock, each by an atomic replace (a broker reloading at any moment reads either the
old or the new file, never half of one). Mosquitto reads them at start and on SIGHUP
(``systemctl reload mosquitto``); a revoked gateway's open connection is dropped at that
reload. A password is returned once, to the caller; it is never logged or written
anywhere but as its hash.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from bohsense.cloud.errors import CloudError
from bohsense.contracts import topics
from bohsense.contracts.topics import TopicError, validate_gateway_id

__all__ = [
    "CLOUD_USER",
    "TECHNICIAN_USER",
    "BrokerIdentityError",
    "GatewayCredentials",
    "UnknownGateway",
    "create_gateway_identity",
    "gateway_ids",
    "hash_password",
    "render_acl",
    "revoke_gateway_identity",
    "verify_password",
]

CLOUD_USER = "bohsense-cloud"
TECHNICIAN_USER = "bohsense-technician"

#: PBKDF2 rounds of a new hash. Mosquitto checks the password at every CONNECT, on its one
#: thread: after an outage a whole fleet reconnects at once, so the cost is kept modest
#: (about 1 ms each here). Generated passwords carry 192 random bits, for which no number
#: of rounds matters; the rounds only slow down guessing a weak chosen one.
DEFAULT_ITERATIONS = 1000
_SALT_BYTES = 12  # as mosquitto_passwd
_MIN_PASSWORD = 16
_MAX_PASSWORD = 256


class BrokerIdentityError(CloudError, ValueError):
    """A gateway identity that cannot be created or revoked; the message never holds a password."""


class UnknownGateway(BrokerIdentityError, LookupError):
    """The gateway has no entry in the password file."""


@dataclass(frozen=True, slots=True)
class GatewayCredentials:
    """What a gateway logs in with. ``password`` is shown once and never stored in clear."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"GatewayCredentials(username={self.username!r}, password='***')"


# -- password hashes ---------------------------------------------------------------------


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS) -> str:
    """A Mosquitto 2 password hash of ``password``: ``$7$<rounds>$<salt b64>$<hash b64>``.

    PBKDF2-HMAC-SHA512 with a 12-byte random salt and a 64-byte key, as
    ``mosquitto_passwd`` writes it; the password-file line is ``username:<this>``.
    """
    if not isinstance(password, str) or not password:
        raise BrokerIdentityError("the password is empty")
    if not 1 <= iterations <= 10_000_000:
        raise BrokerIdentityError(f"iterations must be 1..10000000, not {iterations}")
    salt = secrets.token_bytes(_SALT_BYTES)
    key = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def verify_password(password: str, entry: str) -> bool:
    """Whether ``password`` matches the ``$7$`` hash ``entry`` (as Mosquitto checks it)."""
    parts = entry.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != "7":
        raise BrokerIdentityError("not a Mosquitto $7$ password hash")
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        key = base64.b64decode(parts[4], validate=True)
    except ValueError:
        raise BrokerIdentityError("a malformed Mosquitto $7$ password hash") from None
    got = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, len(key))
    return hmac.compare_digest(got, key)


# -- the ACL -----------------------------------------------------------------------------


def render_acl(
    gateway_ids: Iterable[str],
    *,
    cloud_user: str = CLOUD_USER,
    technician_user: str = TECHNICIAN_USER,
    site_logins: Mapping[str, Iterable[str]] | None = None,
) -> str:
    """The Mosquitto ACL for these gateways, from the topic table (one block per gateway).

    ``site_logins``: login -> the stores it serves; each login reads the store channels
    (``bohsense/v1/site/<site>/alert``) of its stores only (a store's technician app).
    Gateways and logins are listed sorted and once each, so the file is the same for the
    same fleet.
    """
    ids = sorted({_gateway_id(g, cloud_user, technician_user) for g in gateway_ids})
    logins = {}
    for login, sites in (site_logins or {}).items():
        name = _gateway_id(login, cloud_user, technician_user)
        if name in ids:
            raise BrokerIdentityError(f"login {name!r} is also a gateway's")
        try:
            logins[name] = sorted({topics.validate_site_id(s) for s in sites})
        except TopicError as exc:
            raise BrokerIdentityError(str(exc)) from None
    lines = [
        "# Mosquitto ACL for bohsense, generated by `bohsense cloud broker` from the topic",
        "# table; do not edit: `bohsense cloud broker add-gateway|revoke-gateway` rewrite it.",
        "# Deny is the default: a topic no line grants is refused.",
        "",
        "# the cloud ingest and command workers",
        f"user {cloud_user}",
    ]
    for c in topics.CHANNELS:
        lines.append(f"topic {'read' if c.sender == 'gateway' else 'write'} {c.wildcard}")
    lines += [f"topic write {sc.wildcard}" for sc in topics.SITE_CHANNELS]
    lines += [
        "",
        "# technicians' clients: the channels the cloud publishes for people",
        f"user {technician_user}",
    ]
    lines += [f"topic read {c.wildcard}" for c in topics.CHANNELS if not c.to_gateway]
    lines += [f"topic read {sc.wildcard}" for sc in topics.SITE_CHANNELS]
    for login in sorted(logins):
        lines += ["", f"user {login}"]
        lines += [f"topic read {sc.topic(site)}" for site in logins[login] for sc in topics.SITE_CHANNELS]
    for gw in ids:
        lines += ["", f"user {gw}"]
        for c in topics.CHANNELS:
            if c.sender == "gateway":
                lines.append(f"topic write {c.topic(gw)}")
            elif c.to_gateway:
                lines.append(f"topic read {c.topic(gw)}")
    return "\n".join(lines) + "\n"


# -- identities --------------------------------------------------------------------------


def create_gateway_identity(
    gateway_id: str,
    *,
    passwd_file: Path,
    acl_file: Path,
    password: str | None = None,
    cloud_user: str = CLOUD_USER,
) -> GatewayCredentials:
    """Add (or replace) the gateway's password-file entry and regenerate the ACL.

    Without ``password`` a random one of 32 URL-safe characters (192 bits) is made. The
    files are created if missing. Reload the broker afterwards (SIGHUP).
    """
    gw = _gateway_id(gateway_id, cloud_user, TECHNICIAN_USER)
    if password is None:
        password = secrets.token_urlsafe(24)
    else:
        _check_password(password)
    entry = f"{gw}:{hash_password(password)}"
    passwd_file, acl_file = Path(passwd_file), Path(acl_file)
    with _locked(passwd_file):
        lines = _read_lines(passwd_file)
        kept = [line for line in lines if _user_of(line) != gw]
        kept.append(entry)
        _write_atomic(passwd_file, kept)
        _write_acl(acl_file, kept, cloud_user)
    return GatewayCredentials(username=gw, password=password)


def revoke_gateway_identity(
    gateway_id: str, *, passwd_file: Path, acl_file: Path, cloud_user: str = CLOUD_USER
) -> None:
    """Remove the gateway's password-file entry and its ACL block.

    Raise ``UnknownGateway`` when it has none. Reload the broker afterwards (SIGHUP): its
    open connection is closed then, and its next login is refused.
    """
    gw = _gateway_id(gateway_id, cloud_user, TECHNICIAN_USER)
    passwd_file, acl_file = Path(passwd_file), Path(acl_file)
    with _locked(passwd_file):
        lines = _read_lines(passwd_file)
        kept = [line for line in lines if _user_of(line) != gw]
        if len(kept) == len(lines):
            raise UnknownGateway(f"gateway {gw!r} has no entry in {str(passwd_file)!r}")
        _write_atomic(passwd_file, kept)
        _write_acl(acl_file, kept, cloud_user)


def gateway_ids(passwd_file: Path, *, cloud_user: str = CLOUD_USER) -> list[str]:
    """The gateways that have a password-file entry (every user but the service users)."""
    return _gateways(_read_lines(Path(passwd_file)), cloud_user)


# -- internals ---------------------------------------------------------------------------


def _gateway_id(gateway_id: str, cloud_user: str, technician_user: str) -> str:
    if not isinstance(gateway_id, str):
        raise BrokerIdentityError(f"a gateway id must be a string, not {type(gateway_id).__name__}")
    try:
        gw = validate_gateway_id(gateway_id)
    except TopicError as exc:
        raise BrokerIdentityError(str(exc)) from None
    if gw in (cloud_user, technician_user):
        raise BrokerIdentityError(f"{gw!r} is the broker user of a cloud service, not a gateway id")
    return gw


def _check_password(password: str) -> None:
    if not isinstance(password, str):
        raise BrokerIdentityError("the password must be a string")
    if not _MIN_PASSWORD <= len(password) <= _MAX_PASSWORD:
        raise BrokerIdentityError(
            f"the password must have {_MIN_PASSWORD}-{_MAX_PASSWORD} characters (leave it out to get a random one)"
        )
    if any(ch in password for ch in "\r\n\0") or password != password.strip():
        raise BrokerIdentityError("the password must not hold line breaks, NUL or surrounding spaces")


def _user_of(line: str) -> str | None:
    if not line or line.startswith("#"):
        return None
    user, sep, _ = line.partition(":")
    return user if sep else None


def _gateways(lines: Iterable[str], cloud_user: str) -> list[str]:
    out = []
    for line in lines:
        user = _user_of(line)
        if user is None or user in (cloud_user, TECHNICIAN_USER):
            continue
        try:
            out.append(validate_gateway_id(user))
        except TopicError:
            continue  # another service's user, added by hand: no gateway topics for it
    return sorted(set(out))


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise BrokerIdentityError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    return [line for line in text.splitlines() if line.strip()]


def _write_acl(acl_file: Path, passwd_lines: list[str], cloud_user: str) -> None:
    text = render_acl(_gateways(passwd_lines, cloud_user), cloud_user=cloud_user)
    _write_atomic(acl_file, text.splitlines())


def _write_atomic(path: Path, lines: list[str]) -> None:
    """Replace ``path`` by a file holding ``lines``; keep its mode and owner if it exists.

    A new file is 0640 and, when the group exists and we may, group ``mosquitto`` (the
    broker reads these files after dropping its privileges to that user).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        st: os.stat_result | None = path.stat()
    except FileNotFoundError:
        st = None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n" if lines else "")
            f.flush()
            os.fsync(f.fileno())
        if st is not None:
            os.chmod(tmp, st.st_mode & 0o7777)
            with contextlib.suppress(PermissionError):
                os.chown(tmp, st.st_uid, st.st_gid)
        else:
            os.chmod(tmp, 0o640)
            _give_to_broker_group(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _give_to_broker_group(path: str) -> None:
    import grp

    try:
        gid = grp.getgrnam("mosquitto").gr_gid
    except KeyError:
        return
    with contextlib.suppress(PermissionError):
        os.chown(path, -1, gid)


@contextlib.contextmanager
def _locked(passwd_file: Path) -> Iterator[None]:
    """Serialise changes to one password file (two commissionings at once lose nothing)."""
    passwd_file.parent.mkdir(parents=True, exist_ok=True)
    lock = passwd_file.with_name(f".{passwd_file.name}.lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise BrokerIdentityError(f"cannot lock {str(passwd_file)!r}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
