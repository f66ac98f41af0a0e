"""Exceptions of the protocol core.

    FirmwareBridgeError
     └── EncodeError      a message that cannot be put on the wire (local mistake)

Bad bytes from the peer are never raised: the decoder returns them as ``FrameError``
values, because a corrupt frame is data to count, not a failure of the program.
"""

from __future__ import annotations

__all__ = ["EncodeError", "FirmwareBridgeError"]


class FirmwareBridgeError(Exception):
    """Base of every exception the protocol core raises."""


class EncodeError(FirmwareBridgeError, ValueError):
    """A message with a value the wire format cannot carry (too long, out of range)."""
