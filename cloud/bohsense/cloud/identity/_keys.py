"""The format of an API key: ``bsk_<prefix>_<secret>``.

``prefix`` (12 hex digits) finds the key's row; ``secret`` (32 random bytes, base64url)
is checked against the SHA-256 kept in that row. A high-entropy secret needs no slow
hash: nobody can guess 256 bits, so a fast one costs nothing in safety and keeps every
request cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

__all__ = ["KEY_MARK", "check_secret", "new_key", "parse_key", "secret_hash"]

KEY_MARK = "bsk_"
_KEY_RE = re.compile(r"^bsk_([0-9a-f]{12})_([A-Za-z0-9_\-]{43})$")


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key() -> tuple[str, str, str]:
    """A fresh key: (the whole key, its prefix, the hash of its secret)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{KEY_MARK}{prefix}_{secret}", prefix, secret_hash(secret)


def parse_key(key: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    m = _KEY_RE.match(key)
    return (m.group(1), m.group(2)) if m else None


def check_secret(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash)
