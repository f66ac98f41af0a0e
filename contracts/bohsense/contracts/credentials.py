"""Secrets from systemd credentials (``LoadCredential=`` / ``SetCredentialEncrypted=``).

systemd places each credential of a unit as a file in a private, read-only directory and
passes its path as ``CREDENTIALS_DIRECTORY``; the file's name is the credential's name.
``read_credentials(known)`` reads the ones a daemon knows. A credential the daemon does
not know is refused (a misspelt name must not leave a secret unused without a word), an
empty or unreadable one too. The errors name the file, never its content. One trailing
newline (as ``echo`` or an editor leaves) is removed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["CredentialError", "read_credentials"]

#: a credential larger than this is not a password or a token
MAX_BYTES = 64 * 1024


class CredentialError(ValueError):
    """A credential cannot be used: unknown name, empty, unreadable or not UTF-8."""


def read_credentials(known: Iterable[str], env: Mapping[str, str] | None = None) -> dict[str, str]:
    """name → value of the credentials in ``$CREDENTIALS_DIRECTORY`` (empty without one)."""
    env = os.environ if env is None else env
    where = env.get("CREDENTIALS_DIRECTORY")
    if not where:
        return {}
    names = set(known)
    directory = Path(where)
    try:
        present = sorted(p.name for p in directory.iterdir())
    except OSError as exc:
        raise CredentialError(f"CREDENTIALS_DIRECTORY {where}: cannot be read: {exc.strerror}") from None
    out: dict[str, str] = {}
    for name in present:
        path = directory / name
        if name not in names:
            raise CredentialError(
                f"credential {name!r} ({path}) names no secret of this service"
                f" (known: {', '.join(sorted(names))})"
            )
        try:
            data = path.read_bytes()[: MAX_BYTES + 1]
        except OSError as exc:
            raise CredentialError(f"credential {name!r} ({path}) cannot be read: {exc.strerror}") from None
        if len(data) > MAX_BYTES:
            raise CredentialError(f"credential {name!r} ({path}) is larger than {MAX_BYTES} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise CredentialError(f"credential {name!r} ({path}) is not UTF-8 text") from None
        text = text.removesuffix("\n").removesuffix("\r")
        if not text:
            raise CredentialError(f"credential {name!r} ({path}) is empty")
        if "\n" in text:
            raise CredentialError(f"credential {name!r} ({path}) has more than one line")
        out[name] = text
    return out
