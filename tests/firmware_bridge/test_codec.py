"""Bytes-only tests of the wire protocol core: messages round trip, bad frames are named."""

from __future__ import annotations

import math
import struct

import pytest

from bohsense.firmware_bridge import (
    MAX_FRAME_SIZE,
    Ack,
    Command,
    CommandOp,
    DeviceKind,
    EncodeError,
    Frame,
    FrameDecoder,
    FrameError,
    Heartbeat,
    Hello,
    HelloRequest,
    Message,
    Nack,
    NackReason,
    Samples,
    TimeSyncRequest,
    TimeSyncResponse,
    crc16,
    encode_frame,
    parse_frame,
)
from bohsense.firmware_bridge._cobs import decode as cobs_decode
from bohsense.firmware_bridge._cobs import encode as cobs_encode

MESSAGES: list[Message] = [
    Hello("shelf-1", DeviceKind.SHELF, (1, 2, 3), 10.0, ("lane-1", "lane-2", "lane-3")),
    Hello("pump.7", DeviceKind.CONDITION, (0, 0, 1), 12.5, ("temp_c", "vib_rms_mm_s")),
    HelloRequest(),
    Samples(1_764_000_000_000_000, True, (1.5, -2.25, 1000.0)),
    Samples(42, False, (0.0,)),
    TimeSyncRequest(1_764_000_000_123_456),
    TimeSyncRequest(1_764_000_000_123_456, adjust_us=-5_000_000),
    TimeSyncResponse(1, 2, 3, True),
    TimeSyncResponse(10, -20, -10, False),
    Command.tare(2),
    Command.calibrate(1, 500.0),
    Command.set_rate(20.0),
    Command.identify(),
    Ack(65535),
    Nack(7, NackReason.BAD_ARGUMENT, "lane 9 does not exist"),
    Heartbeat(123_456, 3),
]


def only(results: list[Frame | FrameError]) -> Frame | FrameError:
    assert len(results) == 1, results
    return results[0]


def test_crc_check_value() -> None:
    assert crc16(b"123456789") == 0x29B1


@pytest.mark.parametrize("size", [0, 1, 253, 254, 255, 508, 600])
def test_cobs_round_trip_and_no_zeros(size: int) -> None:
    data = bytes(i % 256 for i in range(size))
    encoded = cobs_encode(data)
    assert 0 not in encoded
    assert cobs_decode(encoded) == data


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: Message) -> None:
    wire = encode_frame(message, 513)
    assert wire[0] == 0
    assert wire[-1] == 0
    assert 0 not in wire[1:-1]
    frame = only(FrameDecoder().feed(wire))
    assert isinstance(frame, Frame)
    assert frame.seq == 513
    assert frame.message == message


def test_documented_example_bytes() -> None:
    wire = encode_frame(Samples(123, True, (1.5, 2.0)), 1)
    body = cobs_decode(wire[1:-1])
    assert body[:-2].hex(" ") == "01 02 01 00 01 7b 00 00 00 00 00 00 00 02 00 00 c0 3f 00 00 00 40"
    assert int.from_bytes(body[-2:], "little") == crc16(body[:-2])


def test_seq_wraps_modulo_2_16() -> None:
    frame = only(FrameDecoder().feed(encode_frame(HelloRequest(), 65536 + 5)))
    assert isinstance(frame, Frame)
    assert frame.seq == 5


def test_float32_values_keep_their_float32_value() -> None:
    frame = only(FrameDecoder().feed(encode_frame(Samples(0, True, (0.1, math.inf)), 0)))
    assert isinstance(frame, Frame)
    assert isinstance(frame.message, Samples)
    assert frame.message.values == (struct.unpack("<f", struct.pack("<f", 0.1))[0], math.inf)


@pytest.mark.parametrize(
    "message",
    [
        Hello("with space", DeviceKind.SHELF, (1, 0, 0), 10.0, ("a",)),
        Hello("x" * 33, DeviceKind.SHELF, (1, 0, 0), 10.0, ("a",)),
        Hello("ok", DeviceKind.SHELF, (1, 0, 0), 10.0, ()),
        Hello("ok", DeviceKind.SHELF, (256, 0, 0), 10.0, ("a",)),
        Samples(0, True, ()),
        Samples(0, True, tuple(float(i) for i in range(33))),
        Command(CommandOp.TARE, lane=300),
        Ack(-1),
    ],
)
def test_unrepresentable_messages_raise_encode_error(message: Message) -> None:
    with pytest.raises(EncodeError):
        encode_frame(message, 0)


def _body(version: int, type_code: int, seq: int, payload: bytes) -> bytes:
    body = struct.pack("<BBH", version, type_code, seq) + payload
    return body + crc16(body).to_bytes(2, "little")


def _wire(body: bytes) -> bytes:
    return b"\x00" + cobs_encode(body) + b"\x00"


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (_wire(_body(2, 0x09, 1, b"")), "bad-version"),
        (_wire(_body(1, 0x7F, 1, b"")), "unknown-type"),
        (_wire(_body(1, 0x06, 1, b"\x01")), "bad-payload"),  # ACK one byte short
        (_wire(_body(1, 0x06, 1, b"\x01\x00\x00")), "bad-payload"),  # ACK one byte long
        (_wire(_body(1, 0x05, 1, struct.pack("<BBf", 99, 0, 0.0))), "bad-payload"),  # unknown op
        (_wire(_body(1, 0x02, 1, struct.pack("<BqB", 1, 0, 0))), "bad-payload"),  # zero values
        (_wire(_body(1, 0x02, 1, struct.pack("<BqB", 1, 0, 2) + b"\x00" * 4)), "bad-payload"),
        (_wire(_body(1, 0x01, 1, struct.pack("<BBBBf", 9, 1, 0, 0, 10.0))), "bad-payload"),
        (_wire(b"\x01\x09\x00"), "truncated"),
        (b"\x00\x05\x01\x02\x00", "cobs"),
    ],
)
def test_bad_frames_are_rejected_with_a_reason(wire: bytes, reason: str) -> None:
    error = only(FrameDecoder().feed(wire))
    assert isinstance(error, FrameError)
    assert error.reason == reason, error
    assert error.detail


def test_header_of_unparseable_command_is_kept_for_a_nack() -> None:
    error = only(FrameDecoder().feed(_wire(_body(1, 0x05, 77, struct.pack("<BBf", 99, 0, 0.0)))))
    assert isinstance(error, FrameError)
    assert (error.seq, error.msg_type) == (77, 0x05)


def test_corrupt_crc_is_rejected_and_neighbours_are_kept() -> None:
    good1 = encode_frame(Samples(1, True, (1.0,)), 1)
    body = bytearray(cobs_decode(encode_frame(Samples(2, True, (2.0,)), 2)[1:-1]))
    body[-1] ^= 0x10  # the CRC itself damaged
    bad = _wire(bytes(body))
    good2 = encode_frame(Samples(3, True, (3.0,)), 3)
    decoder = FrameDecoder()
    results = decoder.feed(good1 + bytes(bad) + good2)
    assert [type(r) for r in results] == [Frame, FrameError, Frame]
    assert isinstance(results[1], FrameError)
    assert results[1].reason == "crc"
    assert [r.seq for r in results if isinstance(r, Frame)] == [1, 3]
    assert decoder.errors == {"crc": 1}


def test_partial_frames_are_buffered_across_feeds() -> None:
    wire = encode_frame(Hello("shelf-9", DeviceKind.SHELF, (1, 0, 0), 10.0, ("lane-1",)), 4)
    decoder = FrameDecoder()
    results: list[Frame | FrameError] = []
    for byte in wire:
        results += decoder.feed(bytes([byte]))
    assert len(results) == 1
    assert isinstance(results[0], Frame)
    assert decoder.pending == 0


def test_truncated_frame_followed_by_a_good_one() -> None:
    cut = encode_frame(Samples(1, True, (1.0, 2.0)), 1)[:-6]  # lost its tail and delimiter
    good = encode_frame(Samples(2, True, (3.0, 4.0)), 2)
    results = FrameDecoder().feed(cut + good)
    assert len(results) == 2
    assert isinstance(results[0], FrameError)
    assert results[0].reason in {"cobs", "crc", "truncated"}
    assert isinstance(results[1], Frame)
    assert results[1].seq == 2


def test_garbage_between_frames_is_one_error_per_run() -> None:
    good = [encode_frame(Samples(i, True, (float(i),)), i) for i in range(3)]
    stream = good[0] + b"\xde\xad\xbe\xef" + good[1] + b"\x17\x00\x99" + good[2]
    results = FrameDecoder().feed(stream)
    frames = [r for r in results if isinstance(r, Frame)]
    errors = [r for r in results if isinstance(r, FrameError)]
    assert [f.seq for f in frames] == [0, 1, 2]
    assert len(errors) == 3


def test_oversized_frame_is_rejected_once_and_decoder_resumes() -> None:
    decoder = FrameDecoder()
    results = decoder.feed(b"\x00" + b"\x55" * 1000)
    results += decoder.feed(b"\x55" * 1000)
    assert [r.reason for r in results if isinstance(r, FrameError)] == ["too-long"]
    assert decoder.pending == 0
    good = encode_frame(Ack(9), 9)
    results = decoder.feed(b"\x55" * 10 + good)
    assert isinstance(results[-1], Frame)
    assert results[-1].message == Ack(9)
    assert decoder.errors["too-long"] == 1


def test_oversized_frame_with_valid_stuffing_is_too_long() -> None:
    body = _body(1, 0x08, 1, b"\x01" * (MAX_FRAME_SIZE + 10))
    results = FrameDecoder(max_encoded_size=10_000).feed(_wire(body))
    assert isinstance(results[0], FrameError)
    assert results[0].reason == "too-long"


def test_parse_frame_directly() -> None:
    wire = encode_frame(Heartbeat(5, 0), 3)
    assert parse_frame(wire[1:-1]) == Frame(3, Heartbeat(5, 0))
