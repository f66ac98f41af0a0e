"""What can go wrong with LLRP bytes, as values and as exceptions.

Bad bytes from a peer are *values* (``LLRPError``): the streaming decoder returns them
beside the messages and never raises. The exceptions are for the caller's own mistakes
(``EncodeError``: a message the wire cannot carry) and for the one-shot helpers
(``DecodeError`` from ``decode_message`` / ``decode_body``, carrying the same
``LLRPError`` value).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["DecodeError", "EncodeError", "ErrorReason", "LLRPError", "LLRPException"]


class ErrorReason(enum.StrEnum):
    """Why bytes were refused. Values are stable: they are counted by reason."""

    # framing: the stream cannot be trusted past this point (always fatal on TCP)
    BAD_VERSION = "bad-version"
    LENGTH_TOO_SHORT = "length-too-short"
    LENGTH_TOO_LONG = "length-too-long"
    TRUNCATED_MESSAGE = "truncated-message"
    # message level: this one message is refused, the stream goes on
    UNSUPPORTED_VERSION = "unsupported-version"
    UNKNOWN_MESSAGE_TYPE = "unknown-message-type"
    TRUNCATED_FIELD = "truncated-field"
    INVALID_FIELD = "invalid-field"
    BAD_PARAMETER_LENGTH = "bad-parameter-length"
    PARAMETER_BEYOND_PARENT = "parameter-beyond-parent"
    UNKNOWN_TV_TYPE = "unknown-tv-type"
    MISSING_PARAMETER = "missing-parameter"
    # reported, the message is still delivered (the parameter is kept raw)
    UNKNOWN_PARAMETER = "unknown-parameter"
    UNEXPECTED_PARAMETER = "unexpected-parameter"
    DUPLICATE_PARAMETER = "duplicate-parameter"
    MALFORMED_PARAMETER = "malformed-parameter"


@dataclass(frozen=True, slots=True)
class LLRPError:
    """One refusal, with a precise reason.

    ``fatal`` means the byte stream is no longer framed: the connection must be closed
    and opened again (a new ``MessageDecoder``). ``message_type`` / ``message_id`` are
    set when the header was readable, so a reader can answer with an ERROR_MESSAGE
    that names the offending message. ``raw`` holds the refused bytes so they can be kept
    for inspection: the whole message from ``MessageDecoder``, the body from
    ``decode_body``, the incomplete tail from ``eof()`` (empty for the other framing
    errors, which have no message to keep, and for parameter warnings, whose parameter
    is kept raw in the message itself). ``offset`` is the position of the fault: in the
    stream for framing errors, in the message (header included) for the others.
    """

    reason: ErrorReason
    detail: str
    fatal: bool = False
    message_type: int | None = None
    message_id: int | None = None
    parameter_type: int | None = None
    offset: int | None = None
    raw: bytes = b""

    def __str__(self) -> str:
        where = (
            f" (message type {self.message_type}, id {self.message_id})"
            if self.message_type is not None
            else ""
        )
        return f"{self.reason.value}: {self.detail}{where}"


class LLRPException(Exception):
    """Root of the exceptions raised by ``bohsense.llrp``."""


class EncodeError(LLRPException):
    """A message or parameter whose values the wire format cannot carry."""


class DecodeError(LLRPException):
    """Bytes that are not a valid LLRP message (one-shot helpers only)."""

    def __init__(self, error: LLRPError) -> None:
        super().__init__(str(error))
        self.error = error
