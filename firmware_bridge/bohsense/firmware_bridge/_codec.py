"""Messages ↔ frame bytes. Layouts are little endian; see PROTOCOL.md for the tables.

``encode_frame`` builds the bytes a sender writes: ``0x00 COBS(header payload crc) 0x00``.
``parse_frame`` checks one decoded (un-stuffed) frame and returns a ``Frame`` or a
``FrameError``; it never raises on bad input.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bohsense.firmware_bridge import _cobs
from bohsense.firmware_bridge._crc import crc16
from bohsense.firmware_bridge._errors import EncodeError
from bohsense.firmware_bridge._messages import (
    Ack,
    Axis,
    Command,
    CommandOp,
    DeviceKind,
    DeviceStatus,
    Heartbeat,
    Hello,
    HelloRequest,
    Message,
    MsgType,
    Nack,
    NackReason,
    Samples,
    StatusFlag,
    Temperature,
    TimeSyncRequest,
    TimeSyncResponse,
    WaveformFragment,
)

__all__ = [
    "HEADER_SIZE",
    "MAX_BLOCK_SAMPLES",
    "MAX_CHANNELS",
    "MAX_ENCODED_SIZE",
    "MAX_FRAGMENT_SAMPLES",
    "MAX_FRAME_SIZE",
    "MAX_PAYLOAD_SIZE",
    "MAX_SAMPLE_RATE_HZ",
    "MAX_SCALE_G",
    "MIN_SAMPLE_RATE_HZ",
    "PROTOCOL_VERSION",
    "Frame",
    "FrameError",
    "FrameErrorReason",
    "encode_frame",
    "message_type",
    "parse_frame",
]

PROTOCOL_VERSION = 1
HEADER_SIZE = 4  # version u8, type u8, seq u16
CRC_SIZE = 2
#: largest frame before stuffing: header + payload + CRC
MAX_FRAME_SIZE = 512
MAX_PAYLOAD_SIZE = MAX_FRAME_SIZE - HEADER_SIZE - CRC_SIZE
#: largest frame after COBS stuffing, delimiters not counted
MAX_ENCODED_SIZE = MAX_FRAME_SIZE + MAX_FRAME_SIZE // 254 + 1
MAX_CHANNELS = 32
MAX_ID_LEN = 32
MAX_CHANNEL_NAME_LEN = 12
MAX_NACK_DETAIL_LEN = 64

_HEADER = struct.Struct("<BBH")
_HELLO_FIXED = struct.Struct("<BBBBf")
_SAMPLES_HEAD = struct.Struct("<BqB")
_SYNC_REQ = struct.Struct("<BQq")
_SYNC_RESP = struct.Struct("<BQqq")
_COMMAND = struct.Struct("<BBf")
_ACK = struct.Struct("<H")
_NACK_HEAD = struct.Struct("<HBB")
_HEARTBEAT = struct.Struct("<II")
#: flags, axis, block seq, time, sample rate, scale, block samples, fragment, fragments, offset, count
_WAVEFORM_HEAD = struct.Struct("<BBHqffHBBHB")
_TEMPERATURE = struct.Struct("<BqBf")
_STATUS = struct.Struct("<BqHIH")

#: int16 samples one WAVEFORM frame carries at most
MAX_FRAGMENT_SAMPLES = (MAX_PAYLOAD_SIZE - _WAVEFORM_HEAD.size) // 2
#: samples in one waveform block at most (a power of two: FFT-sized blocks up to it)
MAX_BLOCK_SAMPLES = 32768
MIN_SAMPLE_RATE_HZ = 1.0
MAX_SAMPLE_RATE_HZ = 200_000.0
#: g per count at most (a full scale of ±32768 g)
MAX_SCALE_G = 1.0
MAX_PROBES = 8
ABSOLUTE_ZERO_C = -273.15
_STATUS_BITS = sum(int(f) for f in StatusFlag)


@dataclass(frozen=True, slots=True)
class Frame:
    """One good frame: who sent what, under which sender sequence number."""

    seq: int
    message: Message
    version: int = PROTOCOL_VERSION

    @property
    def type(self) -> MsgType:
        return message_type(self.message)


class FrameErrorReason(StrEnum):
    """Why a candidate frame was rejected (PROTOCOL.md, "How the receiver re-synchronises")."""

    COBS = "cobs"
    TOO_LONG = "too-long"
    TRUNCATED = "truncated"
    CRC = "crc"
    BAD_VERSION = "bad-version"
    UNKNOWN_TYPE = "unknown-type"
    BAD_PAYLOAD = "bad-payload"


@dataclass(frozen=True, slots=True)
class FrameError:
    """A rejected frame. ``reason`` is a ``FrameErrorReason``; ``raw`` is the stuffed bytes.

    ``seq`` and ``msg_type`` are filled in when the header could be trusted (the CRC
    matched), so a device can NACK a command it cannot parse.
    """

    reason: FrameErrorReason
    detail: str
    raw: bytes = b""
    seq: int | None = None
    msg_type: int | None = None

    REASONS = tuple(r.value for r in FrameErrorReason)


_TYPES: dict[type, MsgType] = {
    Hello: MsgType.HELLO,
    Samples: MsgType.SAMPLES,
    TimeSyncRequest: MsgType.TIME_SYNC_REQUEST,
    TimeSyncResponse: MsgType.TIME_SYNC_RESPONSE,
    Command: MsgType.COMMAND,
    Ack: MsgType.ACK,
    Nack: MsgType.NACK,
    Heartbeat: MsgType.HEARTBEAT,
    HelloRequest: MsgType.HELLO_REQUEST,
    WaveformFragment: MsgType.WAVEFORM,
    Temperature: MsgType.TEMPERATURE,
    DeviceStatus: MsgType.STATUS,
}


def message_type(message: Message) -> MsgType:
    return _TYPES[type(message)]


# -- the rules both directions hold ---------------------------------------------------


def fragment_problem(f: WaveformFragment) -> str | None:
    """What makes ``f`` impossible on the wire (PROTOCOL.md, WAVEFORM), or None."""
    rate, scale, n = f.sample_rate_hz, f.scale_g, len(f.counts)
    if not (math.isfinite(rate) and MIN_SAMPLE_RATE_HZ <= rate <= MAX_SAMPLE_RATE_HZ):
        return f"sample rate {rate} Hz outside {MIN_SAMPLE_RATE_HZ:g}..{MAX_SAMPLE_RATE_HZ:g}"
    if not (math.isfinite(scale) and 0.0 < scale <= MAX_SCALE_G):
        return f"scale {scale} g per count is not in (0, {MAX_SCALE_G:g}]"
    if not 1 <= f.block_samples <= MAX_BLOCK_SAMPLES:
        return f"block of {f.block_samples} samples outside 1..{MAX_BLOCK_SAMPLES}"
    if not 0 <= f.fragment < f.fragments:
        return f"fragment {f.fragment} of {f.fragments}"
    if not 1 <= n <= MAX_FRAGMENT_SAMPLES:
        return f"{n} samples in a fragment, outside 1..{MAX_FRAGMENT_SAMPLES}"
    end = f.offset + n
    if end > f.block_samples:
        return f"samples {f.offset}..{end} run past the block's {f.block_samples}"
    last = f.fragment == f.fragments - 1
    if last and end != f.block_samples:
        return f"last fragment ends at sample {end}, the block has {f.block_samples}"
    if not last and end == f.block_samples:
        return f"fragment {f.fragment} of {f.fragments} already ends the block"
    return None


def _temperature_problem(probe: int, celsius: float) -> str | None:
    if not 0 <= probe < MAX_PROBES:
        return f"probe {probe} outside 0..{MAX_PROBES - 1}"
    if math.isinf(celsius) or celsius < ABSOLUTE_ZERO_C:
        return f"{celsius} °C is no temperature (NaN stands for no reading)"
    return None


# -- encoding ---------------------------------------------------------------------------


def _short_ascii(text: str, limit: int, what: str) -> bytes:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise EncodeError(f"{what} {text!r} is not ASCII") from None
    if not 1 <= len(raw) <= limit or any(not 0x21 <= b <= 0x7E for b in raw):
        raise EncodeError(f"{what} {text!r} must be 1..{limit} printable ASCII characters without spaces")
    return bytes([len(raw)]) + raw


def _encode_payload(message: Message) -> bytes:
    match message:
        case Hello():
            if not 1 <= len(message.channels) <= MAX_CHANNELS:
                raise EncodeError(f"HELLO needs 1..{MAX_CHANNELS} channels, got {len(message.channels)}")
            major, minor, patch = message.firmware
            out = _HELLO_FIXED.pack(int(message.kind), major, minor, patch, message.sample_rate_hz)
            out += _short_ascii(message.device_id, MAX_ID_LEN, "device id")
            out += bytes([len(message.channels)])
            for name in message.channels:
                out += _short_ascii(name, MAX_CHANNEL_NAME_LEN, "channel name")
            return out
        case Samples():
            if not 1 <= len(message.values) <= MAX_CHANNELS:
                raise EncodeError(f"SAMPLES needs 1..{MAX_CHANNELS} values, got {len(message.values)}")
            head = _SAMPLES_HEAD.pack(1 if message.synced else 0, message.time_us, len(message.values))
            return head + struct.pack(f"<{len(message.values)}f", *message.values)
        case TimeSyncRequest():
            flags = 0 if message.adjust_us is None else 1
            return _SYNC_REQ.pack(flags, message.gateway_time_us, message.adjust_us or 0)
        case TimeSyncResponse():
            return _SYNC_RESP.pack(
                1 if message.synced else 0,
                message.gateway_time_us,
                message.receive_time_us,
                message.transmit_time_us,
            )
        case Command():
            return _COMMAND.pack(int(message.op), message.lane, message.value)
        case Ack():
            return _ACK.pack(message.command_seq)
        case Nack():
            detail = message.detail.encode("utf-8")[:MAX_NACK_DETAIL_LEN]
            return _NACK_HEAD.pack(message.command_seq, int(message.reason), len(detail)) + detail
        case Heartbeat():
            return _HEARTBEAT.pack(message.uptime_ms, message.tx_dropped)
        case HelloRequest():
            return b""
        case WaveformFragment():
            problem = fragment_problem(message)
            if problem is not None:
                raise EncodeError(f"WAVEFORM: {problem}")
            head = _WAVEFORM_HEAD.pack(
                1 if message.synced else 0,
                int(message.axis),
                message.block_seq,
                message.time_us,
                message.sample_rate_hz,
                message.scale_g,
                message.block_samples,
                message.fragment,
                message.fragments,
                message.offset,
                len(message.counts),
            )
            return head + struct.pack(f"<{len(message.counts)}h", *message.counts)
        case Temperature():
            problem = _temperature_problem(message.probe, message.celsius)
            if problem is not None:
                raise EncodeError(f"TEMPERATURE: {problem}")
            return _TEMPERATURE.pack(
                1 if message.synced else 0, message.time_us, message.probe, message.celsius
            )
        case DeviceStatus():
            if int(message.flags) & ~_STATUS_BITS:
                raise EncodeError(f"STATUS: unknown flag bits 0x{int(message.flags):04x}")
            return _STATUS.pack(
                1 if message.synced else 0,
                message.time_us,
                int(message.flags),
                message.uptime_s,
                message.supply_mv,
            )
    raise EncodeError(f"not a protocol message: {message!r}")  # pragma: no cover


def encode_frame(message: Message, seq: int, *, version: int = PROTOCOL_VERSION) -> bytes:
    """The bytes to write for ``message`` sent as frame ``seq`` (taken modulo 2**16).

    Raises ``EncodeError`` for a message that cannot be represented on the wire.
    """
    try:
        payload = _encode_payload(message)
        body = _HEADER.pack(version, int(message_type(message)), seq & 0xFFFF) + payload
    except (struct.error, OverflowError) as exc:  # OverflowError: a float beyond float32
        raise EncodeError(f"{type(message).__name__}: value out of range: {exc}") from exc
    if len(payload) > MAX_PAYLOAD_SIZE:
        raise EncodeError(
            f"{type(message).__name__} payload is {len(payload)} bytes (max {MAX_PAYLOAD_SIZE})"
        )
    body += crc16(body).to_bytes(2, "little")
    return b"\x00" + _cobs.encode(body) + b"\x00"


# -- decoding ---------------------------------------------------------------------------


class _BadPayload(Exception):
    pass


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise _BadPayload(f"payload ends after {len(self.data)} bytes, needed {self.pos + n}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: struct.Struct) -> tuple[object, ...]:
        return fmt.unpack(self.take(fmt.size))

    def short_ascii(self, limit: int, what: str) -> str:
        (n,) = self.take(1)
        raw = self.take(n)
        if not 1 <= n <= limit or any(not 0x21 <= b <= 0x7E for b in raw):
            raise _BadPayload(f"{what} must be 1..{limit} printable ASCII characters")
        return raw.decode("ascii")

    def end(self) -> None:
        if self.pos != len(self.data):
            raise _BadPayload(f"{len(self.data) - self.pos} unexpected bytes after the payload")


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _float(value: object) -> float:
    assert isinstance(value, float)
    return value


def _parse_hello(r: _Reader) -> Hello:
    kind, major, minor, patch, rate = r.unpack(_HELLO_FIXED)
    try:
        device_kind = DeviceKind(_int(kind))
    except ValueError:
        raise _BadPayload(f"unknown device kind {kind}") from None
    rate_hz = _float(rate)
    if not math.isfinite(rate_hz) or rate_hz <= 0:
        raise _BadPayload(f"sample rate {rate_hz} Hz is not a positive number")
    device_id = r.short_ascii(MAX_ID_LEN, "device id")
    (count,) = r.take(1)
    if not 1 <= count <= MAX_CHANNELS:
        raise _BadPayload(f"channel count {count} outside 1..{MAX_CHANNELS}")
    channels = tuple(r.short_ascii(MAX_CHANNEL_NAME_LEN, "channel name") for _ in range(count))
    r.end()
    return Hello(device_id, device_kind, (_int(major), _int(minor), _int(patch)), rate_hz, channels)


def _parse_samples(r: _Reader) -> Samples:
    flags, time_us, count = r.unpack(_SAMPLES_HEAD)
    n = _int(count)
    if not 1 <= n <= MAX_CHANNELS:
        raise _BadPayload(f"value count {n} outside 1..{MAX_CHANNELS}")
    values = struct.unpack(f"<{n}f", r.take(4 * n))
    r.end()
    return Samples(_int(time_us), bool(_int(flags) & 1), values)


def _parse_sync_request(r: _Reader) -> TimeSyncRequest:
    flags, t1, adjust = r.unpack(_SYNC_REQ)
    r.end()
    return TimeSyncRequest(_int(t1), _int(adjust) if _int(flags) & 1 else None)


def _parse_sync_response(r: _Reader) -> TimeSyncResponse:
    flags, t1, t2, t3 = r.unpack(_SYNC_RESP)
    r.end()
    return TimeSyncResponse(_int(t1), _int(t2), _int(t3), bool(_int(flags) & 1))


def _parse_command(r: _Reader) -> Command:
    op, lane, value = r.unpack(_COMMAND)
    r.end()
    try:
        command_op = CommandOp(_int(op))
    except ValueError:
        raise _BadPayload(f"unknown command op {op}") from None
    return Command(command_op, _int(lane), _float(value))


def _parse_ack(r: _Reader) -> Ack:
    (seq,) = r.unpack(_ACK)
    r.end()
    return Ack(_int(seq))


def _parse_nack(r: _Reader) -> Nack:
    seq, reason, n = r.unpack(_NACK_HEAD)
    detail = r.take(_int(n)).decode("utf-8", errors="replace")
    r.end()
    try:
        nack_reason = NackReason(_int(reason))
    except ValueError:
        raise _BadPayload(f"unknown NACK reason {reason}") from None
    return Nack(_int(seq), nack_reason, detail)


def _parse_heartbeat(r: _Reader) -> Heartbeat:
    uptime, dropped = r.unpack(_HEARTBEAT)
    r.end()
    return Heartbeat(_int(uptime), _int(dropped))


def _parse_hello_request(r: _Reader) -> HelloRequest:
    r.end()
    return HelloRequest()


def _parse_waveform(r: _Reader) -> WaveformFragment:
    flags, axis, block_seq, time_us, rate, scale, total, index, count, offset, n = r.unpack(_WAVEFORM_HEAD)
    try:
        wave_axis = Axis(_int(axis))
    except ValueError:
        raise _BadPayload(f"unknown axis {axis}") from None
    raw = r.take(2 * _int(n))
    r.end()
    fragment = WaveformFragment(
        _int(time_us),
        bool(_int(flags) & 1),
        wave_axis,
        _int(block_seq),
        _float(rate),
        _float(scale),
        _int(total),
        _int(index),
        _int(count),
        _int(offset),
        struct.unpack(f"<{_int(n)}h", raw),
    )
    problem = fragment_problem(fragment)
    if problem is not None:
        raise _BadPayload(problem)
    return fragment


def _parse_temperature(r: _Reader) -> Temperature:
    flags, time_us, probe, celsius = r.unpack(_TEMPERATURE)
    r.end()
    problem = _temperature_problem(_int(probe), _float(celsius))
    if problem is not None:
        raise _BadPayload(problem)
    return Temperature(_int(time_us), bool(_int(flags) & 1), _int(probe), _float(celsius))


def _parse_status(r: _Reader) -> DeviceStatus:
    flags, time_us, bits, uptime, supply = r.unpack(_STATUS)
    r.end()
    if _int(bits) & ~_STATUS_BITS:
        raise _BadPayload(f"unknown status flag bits 0x{_int(bits):04x}")
    return DeviceStatus(
        _int(time_us), bool(_int(flags) & 1), StatusFlag(_int(bits)), _int(uptime), _int(supply)
    )


_PARSERS: dict[MsgType, Callable[[_Reader], Message]] = {
    MsgType.HELLO: _parse_hello,
    MsgType.SAMPLES: _parse_samples,
    MsgType.TIME_SYNC_REQUEST: _parse_sync_request,
    MsgType.TIME_SYNC_RESPONSE: _parse_sync_response,
    MsgType.COMMAND: _parse_command,
    MsgType.ACK: _parse_ack,
    MsgType.NACK: _parse_nack,
    MsgType.HEARTBEAT: _parse_heartbeat,
    MsgType.HELLO_REQUEST: _parse_hello_request,
    MsgType.WAVEFORM: _parse_waveform,
    MsgType.TEMPERATURE: _parse_temperature,
    MsgType.STATUS: _parse_status,
}


def parse_frame(encoded: bytes) -> Frame | FrameError:
    """Check and parse one frame given as its stuffed bytes, delimiters removed."""
    try:
        body = _cobs.decode(encoded)
    except _cobs.CobsError as exc:
        return FrameError(FrameErrorReason.COBS, str(exc), encoded)
    if len(body) > MAX_FRAME_SIZE:
        return FrameError(
            FrameErrorReason.TOO_LONG, f"frame is {len(body)} bytes (max {MAX_FRAME_SIZE})", encoded
        )
    if len(body) < HEADER_SIZE + CRC_SIZE:
        return FrameError(
            FrameErrorReason.TRUNCATED, f"frame is {len(body)} bytes, shorter than header and CRC", encoded
        )
    expected = int.from_bytes(body[-2:], "little")
    actual = crc16(body[:-2])
    if expected != actual:
        return FrameError(FrameErrorReason.CRC, f"CRC is 0x{expected:04x}, computed 0x{actual:04x}", encoded)
    version, type_code, seq = _HEADER.unpack_from(body)
    if version != PROTOCOL_VERSION:
        return FrameError(
            FrameErrorReason.BAD_VERSION,
            f"protocol version {version}, expected {PROTOCOL_VERSION}",
            encoded,
            seq,
            type_code,
        )
    try:
        msg_type = MsgType(type_code)
    except ValueError:
        return FrameError(
            FrameErrorReason.UNKNOWN_TYPE, f"message type 0x{type_code:02x}", encoded, seq, type_code
        )
    try:
        message = _PARSERS[msg_type](_Reader(body[HEADER_SIZE:-2]))
    except _BadPayload as exc:
        return FrameError(FrameErrorReason.BAD_PAYLOAD, f"{msg_type.name}: {exc}", encoded, seq, type_code)
    return Frame(seq, message, version)
