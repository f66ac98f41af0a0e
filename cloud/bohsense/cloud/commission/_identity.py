"""The gateway's broker identity: its login, password and ACL on Mosquitto.

A thin call of ``bohsense.cloud.broker.create_gateway_identity``, which writes the
password file (a hash only) and the ACL file together. The password comes back once, to
be shown to the person commissioning the store and set on the gateway; it is never
logged, never written into the gateway's configuration, and never part of an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..broker import BrokerIdentityError, create_gateway_identity
from ._errors import IdentityUnavailable

__all__ = ["Credentials", "create_identity"]


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # a password never reaches a log through a repr
        return f"Credentials(username={self.username!r}, password='***')"


def create_identity(gateway_id: str, *, passwd_file: Path, acl_file: Path) -> Credentials:
    try:
        created = create_gateway_identity(gateway_id, passwd_file=passwd_file, acl_file=acl_file)
    except (OSError, BrokerIdentityError) as exc:
        raise IdentityUnavailable(  # the broker module's reasons never hold a password
            f"cannot create the broker identity of {gateway_id!r} in {passwd_file} / {acl_file}: {exc}"
        ) from None
    return Credentials(created.username, created.password)
