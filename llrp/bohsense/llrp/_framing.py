"""The 10-byte LLRP message header and whole messages: one-shot decoding and encoding.

::

    bits  3 reserved | 3 version | 10 message type     (2 bytes)
          32 message length, header included           (4 bytes)
          32 message id                                (4 bytes)
          body: fields, then parameters

Version 1 is LLRP 1.0.1, the only version this core speaks. ``decode_body`` takes a
body without its header (as some captures store it); ``decode_message`` takes one
whole message; the streaming ``MessageDecoder`` is built on both.
"""

from __future__ import annotations

import dataclasses
import struct

from bohsense.llrp._codec import decode_fields_and_children, encode_body
from bohsense.llrp._errors import DecodeError, EncodeError, ErrorReason, LLRPError
from bohsense.llrp._schema import MESSAGES, Message, layout
from bohsense.llrp._wire import Reader

__all__ = [
    "HEADER",
    "LLRP_VERSION",
    "Header",
    "decode_body",
    "decode_message",
    "encode_message",
    "parse_header",
]

LLRP_VERSION = 1
HEADER = struct.Struct(">HII")
HEADER_SIZE = HEADER.size  # 10


@dataclasses.dataclass(frozen=True, slots=True)
class Header:
    version: int
    message_type: int
    length: int
    message_id: int


def parse_header(data: bytes, pos: int = 0) -> Header:
    """The header at ``data[pos:pos+10]`` (the caller checks that 10 bytes are there)."""
    word, length, message_id = HEADER.unpack_from(data, pos)
    return Header((word >> 10) & 0x7, word & 0x3FF, length, message_id)


def decode_body(
    message_type: int, message_id: int, body: bytes, *, base: int = HEADER_SIZE
) -> tuple[Message, list[LLRPError]]:
    """Decode one message body. Returns the message and the warnings about parameters
    kept raw; raises ``DecodeError`` when the body cannot make the message.
    ``base`` is the offset of the body in its message, for the offsets in errors."""
    cls = MESSAGES.get(message_type)
    if cls is None:
        raise DecodeError(
            LLRPError(
                ErrorReason.UNKNOWN_MESSAGE_TYPE,
                f"message type {message_type} is not an LLRP 1.0.1 message",
                message_type=message_type,
                message_id=message_id,
                raw=bytes(body),
            )
        )
    warnings: list[LLRPError] = []
    kwargs: dict[str, object] = {"message_id": message_id}
    try:
        decode_fields_and_children(cls, layout(cls), Reader(bytes(body), base=base), kwargs, warnings)
    except DecodeError as exc:
        raise DecodeError(
            dataclasses.replace(exc.error, message_type=message_type, message_id=message_id, raw=bytes(body))
        ) from exc
    message = cls(**kwargs)  # type: ignore[arg-type]
    return message, [
        dataclasses.replace(w, message_type=message_type, message_id=message_id) for w in warnings
    ]


def decode_message(data: bytes) -> tuple[Message, list[LLRPError]]:
    """Decode exactly one whole message (header and body)."""
    if len(data) < HEADER_SIZE:
        raise DecodeError(
            LLRPError(
                ErrorReason.TRUNCATED_MESSAGE, f"{len(data)} bytes are too few for a message header", offset=0
            )
        )
    h = parse_header(data)
    if h.version != LLRP_VERSION:
        reason = ErrorReason.UNSUPPORTED_VERSION if h.version == 2 else ErrorReason.BAD_VERSION
        raise DecodeError(
            LLRPError(reason, f"version {h.version}, this core speaks version {LLRP_VERSION} (LLRP 1.0.1)",
                      message_type=h.message_type, message_id=h.message_id, offset=0)
        )  # fmt: skip
    if h.length < HEADER_SIZE:
        raise DecodeError(
            LLRPError(
                ErrorReason.LENGTH_TOO_SHORT, f"length {h.length} is below the 10-byte header", offset=2
            )
        )
    if h.length != len(data):
        reason = ErrorReason.TRUNCATED_MESSAGE if h.length > len(data) else ErrorReason.LENGTH_TOO_SHORT
        raise DecodeError(
            LLRPError(reason, f"the header says {h.length} bytes, {len(data)} were given",
                      message_type=h.message_type, message_id=h.message_id, offset=2)
        )  # fmt: skip
    return decode_body(h.message_type, h.message_id, data[HEADER_SIZE:])


def encode_message(message: Message) -> bytes:
    """The wire bytes of ``message`` (version 1). Raises ``EncodeError`` for values that
    do not fit their fields."""
    if not 0 <= message.message_id <= 0xFFFFFFFF:
        raise EncodeError(f"message_id {message.message_id} does not fit 32 bits")
    out = bytearray(HEADER_SIZE)
    encode_body(message, out)
    if len(out) > 0xFFFFFFFF:  # pragma: no cover - not reachable in memory
        raise EncodeError("message too long")
    HEADER.pack_into(out, 0, (LLRP_VERSION << 10) | type(message).TYPE, len(out), message.message_id)
    return bytes(out)
