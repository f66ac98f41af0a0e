"""How guessable a secret is: a conservative entropy estimate, not a spelling check.

Each character counts ``log2(pool)`` bits, where the pool is the union of the character
classes the secret uses (lower case, upper case, digits, others), except a character that
repeats the previous one or continues a run (``abc``, ``321``), a character of a keyboard
row continued (``qwer``), and the characters of a common word (``password``, ``changeme``…),
which count one bit each. The total is capped by the distinct characters used (a short
pattern repeated is no stronger than the pattern). Tokens from
``secrets.token_urlsafe(16)`` or longer pass; ``aaaaaaaaaaaaaaaa`` does not.
"""

from __future__ import annotations

import math
import string

__all__ = ["MIN_TOKEN_BITS", "MIN_TOKEN_LENGTH", "estimated_bits", "token_weakness"]

MIN_TOKEN_LENGTH = 16
MIN_TOKEN_BITS = 80

_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890")
_COMMON = (
    "password", "passwort", "changeme", "secret", "admin", "qwerty", "letmein", "welcome",
    "bohsense", "token", "default", "master", "dragon", "monkey", "iloveyou", "football",
)  # fmt: skip


def _pool(secret: str) -> int:
    size = sum(len(cls) for cls in _CLASSES if any(c in cls for c in secret))
    if any(not any(c in cls for cls in _CLASSES) for c in secret):
        size += 33
    return max(size, 2)


def _cheap(secret: str) -> list[bool]:
    """Which characters are predictable from what comes before them."""
    low = secret.lower()
    cheap = [False] * len(secret)
    for i in range(1, len(secret)):
        a, b = low[i - 1], low[i]
        if a == b or abs(ord(a) - ord(b)) == 1 or any(a + b in row or b + a in row for row in _ROWS):
            cheap[i] = True
    for word in _COMMON:
        start = low.find(word)
        while start != -1:
            for i in range(start + 1, start + len(word)):
                cheap[i] = True
            start = low.find(word, start + 1)
    return cheap


def estimated_bits(secret: str) -> float:
    if not secret:
        return 0.0
    per_char = math.log2(_pool(secret))
    bits = sum(1.0 if cheap else per_char for cheap in _cheap(secret))
    return min(bits, 3 * len(set(secret)) * per_char)


def token_weakness(token: str, *, name: str = "api_token", min_length: int = MIN_TOKEN_LENGTH) -> str | None:
    """Why ``token`` (the setting ``name``) is too weak to guard an API (never quoting it),
    or None."""
    how = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    if len(token.strip()) < min_length:
        return f"{name} must be at least {min_length} characters; {how}"
    bits = estimated_bits(token)
    if bits < MIN_TOKEN_BITS:
        return (
            f"{name} is too predictable (about {bits:.0f} bits, at least {MIN_TOKEN_BITS} needed:"
            f" repeated characters, runs, keyboard rows or common words); {how}"
        )
    return None
