"""Broker URLs, parsed once for both sides: ``mqtt://[user:pass@]host[:1883]`` or
``mqtts://…[:8883]`` (``tcp://`` and ``ssl://`` are accepted as their aliases).

``redact`` gives the form that may appear in a log, an error or ``check-config``
output: the password never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from bohsense.contracts.errors import ContractError

__all__ = ["BrokerAddress", "BrokerUrlError", "parse_broker_url", "redact"]

_PLAIN = ("mqtt", "tcp")
_TLS = ("mqtts", "ssl")


class BrokerUrlError(ContractError):
    """A broker URL that cannot be used; the message never contains its password."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        secret = "***" if self.password else None
        return (
            f"BrokerAddress(host={self.host!r}, port={self.port}, tls={self.tls},"
            f" username={self.username!r}, password={secret!r})"
        )

    @property
    def url(self) -> str:
        """The address as a URL without credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{host}:{self.port}"


def redact(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``; safe to log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = quote(unquote(parts.username or ""), safe="")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def parse_broker_url(url: str, *, allow_credentials: bool = True, allow_path: bool = False) -> BrokerAddress:
    """The address in ``url``; raise BrokerUrlError with a reason (and without the password)."""
    shown = redact(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _PLAIN + _TLS:
        raise BrokerUrlError(f"broker URL {shown!r} must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise BrokerUrlError(f"broker URL {shown!r} has no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise BrokerUrlError(f"broker URL {shown!r}: {exc}") from None
    if not allow_credentials and (parts.username or parts.password):
        raise BrokerUrlError(f"broker URL {shown!r} must not carry credentials: set them apart")
    if not allow_path and (parts.path not in ("", "/") or parts.query or parts.fragment):
        raise BrokerUrlError(f"broker URL {shown!r} must be just scheme://host[:port]")
    tls = scheme in _TLS
    return BrokerAddress(
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )
