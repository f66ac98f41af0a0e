"""The exceptions of bohsense.models::

ModelsError
├── InputError      bad input data (names the line when it has one); CLI exit 2
└── StateError      serialised detector state that cannot be restored (also a ValueError)
"""

from __future__ import annotations

__all__ = ["InputError", "ModelsError"]


class ModelsError(Exception):
    """Base of every error this package raises on purpose."""


class InputError(ModelsError, ValueError):
    """Input that cannot be used; ``line`` is its 1-based line number when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)
