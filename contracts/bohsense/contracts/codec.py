"""Encoding and decoding of v1 payloads.

Wire encoding: MessagePack by default (``Encoding.MSGPACK``); JSON is accepted
everywhere too, so a person can publish a hand-written message with
``mosquitto_pub``. The decoder tells them apart by the first byte: a JSON payload is
an object and starts with ``{`` (after optional whitespace); a MessagePack map starts
with a byte in 0x80–0x8f or 0xde/0xdf. The choice of default is measured in
``docs/benchmarks.md`` (``bohsense bench codec``).

Decoding validates as it goes (types, ranges, lengths, unknown fields) and raises
``PayloadError`` with a precise reason; callers quarantine the payload with it.
"""

from __future__ import annotations

import enum
from typing import TypeVar

import msgspec

from bohsense.contracts.errors import Reason, ReasonedError
from bohsense.contracts.events import Event
from bohsense.contracts.schema import (
    MAX_PAYLOAD_BYTES,
    NAME_PATTERN,
    CloudAck,
    CommandResult,
    GatewayCommand,
    GatewayId,
    GatewayStatus,
    Reading,
    ReadingBatch,
    Seq,
    valid_name,
)

__all__ = [
    "Encoding",
    "PayloadError",
    "decode",
    "decode_ack",
    "decode_batch",
    "decode_command",
    "decode_result",
    "decode_status",
    "encode",
    "encode_events",
    "encode_raw_batch",
    "read_batch_identity",
]

T = TypeVar("T")


class Encoding(enum.Enum):
    MSGPACK = "msgpack"
    JSON = "json"


class PayloadError(ReasonedError):
    """A payload that is not a valid v1 message. ``reason`` is short and machine-sortable."""


_json_enc = msgspec.json.Encoder()
_mp_enc = msgspec.msgpack.Encoder()
_json_dec: dict[type, msgspec.json.Decoder[object]] = {}
_mp_dec: dict[type, msgspec.msgpack.Decoder[object]] = {}


def encode(msg: msgspec.Struct, encoding: Encoding = Encoding.MSGPACK) -> bytes:
    if encoding is Encoding.JSON:
        return _json_enc.encode(msg)
    return _mp_enc.encode(msg)


def encode_events(events: list[Event], encoding: Encoding = Encoding.MSGPACK) -> bytes:
    """The ``events`` field of a batch: the array of ``[device, kind, ts, attrs]``.

    ``attrs`` is encoded in the batch's own encoding, so the cloud's
    ``events.decode_event(wire, json=...)`` reads it back by kind.
    """
    return encode_raw(events, encoding)


def encode_raw(value: list[Reading] | list[Event], encoding: Encoding = Encoding.MSGPACK) -> bytes:
    """A list of readings or events encoded alone, to be carried by ``encode_raw_batch``."""
    if encoding is Encoding.JSON:
        return _json_enc.encode(value)
    return _mp_enc.encode(value)


class _RawBatch(msgspec.Struct, frozen=True, omit_defaults=True):
    """``ReadingBatch`` with its readings and events already encoded (``Raw``).

    The gateway's outbox keeps each batch's readings and events encoded; the envelope is
    wrapped around them when the batch is sent (``floor`` and ``sent`` are true then).
    Field names, order and defaults are those of ``ReadingBatch`` (a test compares them);
    ``events`` is left out when there are none, as ``ReadingBatch`` leaves out its empty
    list, so a batch without events is byte for byte what a cloud predating the field reads.
    """

    gateway: str
    seq: int
    sent: int
    readings: msgspec.Raw
    floor: int = 0
    site: str = ""
    v: int = 1
    events: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    urgent: bool = False


def encode_raw_batch(
    *,
    gateway: str,
    seq: int,
    sent: int,
    readings: bytes,
    floor: int = 0,
    site: str = "",
    events: bytes | None = None,
    urgent: bool = False,
    encoding: Encoding = Encoding.MSGPACK,
) -> bytes:
    """A ``ReadingBatch`` payload around readings and events already encoded in ``encoding``
    (``encode_raw`` / ``encode_events``); ``events`` None or empty leaves the field out."""
    batch = _RawBatch(
        gateway,
        seq,
        sent,
        msgspec.Raw(readings),
        floor,
        site,
        1,
        msgspec.Raw(events) if events else msgspec.UNSET,
        urgent,
    )
    return encode(batch, encoding)


def sniff(payload: bytes) -> Encoding:
    """Which encoding ``payload`` uses; raise PayloadError if it is neither."""
    if not payload:
        raise PayloadError(Reason.EMPTY, "payload has no bytes")
    first = payload[0]
    if first == 0x7B or (first in b" \t\r\n" and payload.lstrip()[:1] == b"{"):
        return Encoding.JSON
    if 0x80 <= first <= 0x8F or first in (0xDE, 0xDF):
        return Encoding.MSGPACK
    raise PayloadError(
        Reason.NOT_AN_OBJECT,
        f"payload starts with byte 0x{first:02x}: neither a JSON object nor a MessagePack map",
    )


def decode(payload: bytes, kind: type[T]) -> T:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(Reason.OVERSIZED, f"{len(payload)} bytes > limit {MAX_PAYLOAD_BYTES}")
    enc = sniff(payload)
    try:
        if enc is Encoding.JSON:
            jdec = _json_dec.get(kind)
            if jdec is None:
                jdec = _json_dec[kind] = msgspec.json.Decoder(kind)
            return jdec.decode(payload)  # type: ignore[return-value]
        mdec = _mp_dec.get(kind)
        if mdec is None:
            mdec = _mp_dec[kind] = msgspec.msgpack.Decoder(kind)
        return mdec.decode(payload)  # type: ignore[return-value]
    except msgspec.ValidationError as exc:
        raise PayloadError(Reason.SCHEMA, str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise PayloadError(Reason.MALFORMED, str(exc)) from exc


def decode_batch(payload: bytes) -> ReadingBatch:
    """The batch in ``payload``, its envelope and readings checked.

    Events keep their attributes undecoded (``WireEvent.attrs``): the cloud decodes each
    by kind with ``contracts.events.decode_event`` and refuses a bad one on its own.
    """
    batch = decode(payload, ReadingBatch)
    readings = batch.readings
    if not readings and not batch.events:
        raise PayloadError(Reason.SCHEMA, "a batch carries at least one reading or event - at `$.readings`")
    names = {r.device for r in readings}
    names.update([r.metric for r in readings])
    if not all(valid_name(n) for n in names):
        for i, r in enumerate(readings):
            for field, name in (("device", r.device), ("metric", r.metric)):
                if not valid_name(name):
                    raise PayloadError(
                        Reason.SCHEMA,
                        f"Expected `str` matching regex {NAME_PATTERN!r} - at `$.readings[{i}].{field}`",
                    )
    return batch


class _BatchIdentity(msgspec.Struct, frozen=True):
    """Only ``gateway`` and ``seq`` of a readings payload; everything else is ignored."""

    gateway: GatewayId
    seq: Seq


def read_batch_identity(payload: bytes) -> tuple[str, int] | None:
    """The ``(gateway, seq)`` of a readings payload that is not a valid batch, or None if even
    those cannot be read. Size is not checked: this is for payloads already refused."""
    try:
        enc = sniff(payload)
        if enc is Encoding.JSON:
            ident = msgspec.json.decode(payload, type=_BatchIdentity)
        else:
            ident = msgspec.msgpack.decode(payload, type=_BatchIdentity)
    except (PayloadError, msgspec.DecodeError):  # ValidationError is a DecodeError
        return None
    return ident.gateway, ident.seq


def decode_status(payload: bytes) -> GatewayStatus:
    return decode(payload, GatewayStatus)


def decode_ack(payload: bytes) -> CloudAck:
    return decode(payload, CloudAck)


def decode_command(payload: bytes) -> GatewayCommand:
    return decode(payload, GatewayCommand)


def decode_result(payload: bytes) -> CommandResult:
    return decode(payload, CommandResult)
