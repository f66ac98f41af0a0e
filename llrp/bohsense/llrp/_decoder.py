"""The streaming decoder for an LLRP TCP byte stream: bytes in, messages and errors out.

``MessageDecoder.feed(data)`` never raises. It returns, in stream order, every whole
message the bytes complete and an ``LLRPError`` for each refusal; a partial message is
held until the rest arrives.

How it re-synchronises, and when it cannot
------------------------------------------
LLRP frames messages by the length in their header only: there is no delimiter, no
magic number and no checksum to search for. So:

- **Framing errors are fatal.** A header whose version is not LLRP's (0, 3-7), whose
  length is below the 10-byte header, or above ``max_message_length``, means the byte
  stream has lost its framing (or never was LLRP). No later byte can be trusted to
  start a message, so the decoder returns one error with ``fatal=True``, drops its
  buffer and returns nothing more: the transport must close the connection and open a
  new one with a new decoder (an LLRP client reconnects; a reader drops the client).
- **Message errors are not.** When the header is sound, the length says where the next
  message starts, so a body that cannot be decoded (unknown message type, truncated
  field, a parameter longer than its message, an unknown TV type) costs that one
  message only: it is returned as an ``LLRPError`` with the message's type, id and bytes
  (so a reader can answer ERROR_MESSAGE) and decoding resumes at the next header.
  A version-2 header (LLRP 1.1, whose header is framed the same way) is refused
  like this too, with ``UNSUPPORTED_VERSION``, so a 1.1 client can fall back.
- **Unknown or malformed parameters inside a good message** are kept raw in the
  message's ``extensions`` and reported as non-fatal errors before the message itself.
- **A length that lies** is caught where it can be: too short, and the body's
  parameters run past the message (a message error), after which the next "header"
  is read from the middle of a parameter and almost always fails as a framing error;
  too long, and the decoder waits for bytes that never come: it cannot tell a liar
  from a slow peer, so the transport's keepalive watchdog decides, and ``eof()``
  reports the incomplete message (``TRUNCATED_MESSAGE``) when the connection closes.
"""

from __future__ import annotations

import dataclasses

from bohsense.llrp._errors import DecodeError, ErrorReason, LLRPError
from bohsense.llrp._framing import HEADER_SIZE, LLRP_VERSION, decode_body, parse_header
from bohsense.llrp._schema import Message

__all__ = ["DEFAULT_MAX_MESSAGE_LENGTH", "MessageDecoder"]

# Larger than any report a reader sends in one message (an Impinj reader holding
# reports for a reconnecting client sends several hundred kB); a bound on memory.
DEFAULT_MAX_MESSAGE_LENGTH = 4 * 1024 * 1024


class MessageDecoder:
    """Decode one direction of one LLRP connection."""

    __slots__ = ("_buf", "_consumed", "_failed", "max_message_length")

    def __init__(self, max_message_length: int = DEFAULT_MAX_MESSAGE_LENGTH) -> None:
        if max_message_length < HEADER_SIZE:
            raise ValueError(f"max_message_length must be at least {HEADER_SIZE}")
        self.max_message_length = max_message_length
        self._buf = bytearray()
        self._consumed = 0  # stream offset of _buf[0]
        self._failed: LLRPError | None = None

    @property
    def failed(self) -> LLRPError | None:
        """The fatal error that ended this stream, if any."""
        return self._failed

    @property
    def buffered(self) -> int:
        """Bytes held for a message not yet complete."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Message | LLRPError]:
        if self._failed is not None:
            return []
        self._buf += data
        buf = self._buf
        out: list[Message | LLRPError] = []
        pos = 0
        while len(buf) - pos >= HEADER_SIZE:
            h = parse_header(bytes(buf[pos : pos + HEADER_SIZE]))
            fatal = self._framing_error(h.version, h.length, h.message_type, h.message_id, pos)
            if fatal is not None:
                self._failed = fatal
                self._buf = bytearray()
                out.append(fatal)
                return out
            if len(buf) - pos < h.length:
                break
            raw = bytes(buf[pos : pos + h.length])
            pos += h.length
            if h.version != LLRP_VERSION:
                out.append(
                    LLRPError(
                        ErrorReason.UNSUPPORTED_VERSION,
                        f"version {h.version} message refused: this core speaks LLRP 1.0.1 (version 1)",
                        message_type=h.message_type,
                        message_id=h.message_id,
                        offset=0,
                        raw=raw,
                    )
                )
                continue
            try:
                message, warnings = decode_body(h.message_type, h.message_id, raw[HEADER_SIZE:])
            except DecodeError as exc:
                out.append(dataclasses.replace(exc.error, raw=raw))
                continue
            out.extend(warnings)
            out.append(message)
        if pos:
            del buf[:pos]
            self._consumed += pos
        return out

    def eof(self) -> list[LLRPError]:
        """Call when the connection closed: reports a message left incomplete."""
        if self._failed is not None or not self._buf:
            return []
        error = LLRPError(
            ErrorReason.TRUNCATED_MESSAGE,
            f"the connection closed {len(self._buf)} bytes into an incomplete message",
            fatal=True,
            offset=self._consumed,
            raw=bytes(self._buf),
        )
        self._failed = error
        self._buf = bytearray()
        return [error]

    def _framing_error(self, version: int, length: int, mtype: int, mid: int, pos: int) -> LLRPError | None:
        at = self._consumed + pos
        if version not in (LLRP_VERSION, 2):
            return LLRPError(
                ErrorReason.BAD_VERSION,
                f"header version {version} at stream offset {at} is not LLRP: the stream is not framed",
                fatal=True, message_type=mtype, message_id=mid, offset=at,
            )  # fmt: skip
        if length < HEADER_SIZE:
            return LLRPError(
                ErrorReason.LENGTH_TOO_SHORT,
                f"message length {length} at stream offset {at} is below the 10-byte header",
                fatal=True, message_type=mtype, message_id=mid, offset=at,
            )  # fmt: skip
        if length > self.max_message_length:
            return LLRPError(
                ErrorReason.LENGTH_TOO_LONG,
                f"message length {length} at stream offset {at} exceeds the limit of {self.max_message_length}",
                fatal=True, message_type=mtype, message_id=mid, offset=at,
            )  # fmt: skip
        return None
