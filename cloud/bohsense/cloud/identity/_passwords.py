"""Password hashing: argon2id through argon2-cffi.

A sign-in of an unknown user verifies against a dummy hash all the same, so the answer
takes as long whether the user exists or not (nothing to learn from the timing).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["MIN_PASSWORD_LENGTH", "Passwords"]

MIN_PASSWORD_LENGTH = 10


class Passwords:
    """Hash and verify passwords (argon2id; argon2-cffi's default, RFC 9106 low-memory cost)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    @property
    def _dummy(self) -> str:
        # made on first use: an app that never signs anyone in never pays for it
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash("not a password of anyone")
        return self._dummy_hash

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored`` (None or "": checked against the dummy
        hash, and False)."""
        try:
            ok = self._hasher.verify(stored or self._dummy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return ok and bool(stored)

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
