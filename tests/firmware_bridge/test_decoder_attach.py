"""The receiver's rules from PROTOCOL.md held by the decoder itself: attaching mid-stream
skips to the first delimiter (counted, not an error), rejections are counted by reason,
and nothing after them is lost."""

from __future__ import annotations

import pytest

from bohsense.firmware_bridge import (
    Ack,
    Frame,
    FrameDecoder,
    FrameError,
    FrameErrorReason,
    Samples,
    encode_frame,
)
from bohsense.firmware_bridge._cobs import encode as cobs_encode


def frames(n: int, first: int = 0) -> list[bytes]:
    return [encode_frame(Samples(1000 + i, True, (float(i), -float(i))), i) for i in range(first, first + n)]


@pytest.mark.parametrize("cut", [1, 3, 7, 12])
def test_attaching_mid_frame_skips_to_the_first_delimiter_and_counts_it(cut: int) -> None:
    stream = b"".join(frames(4))
    first = stream.index(0, 1)  # the trailing delimiter of frame 0
    decoder = FrameDecoder(mid_stream=True)
    assert not decoder.attached
    results = decoder.feed(stream[cut:])
    assert decoder.attached
    assert [r.seq for r in results if isinstance(r, Frame)] == [1, 2, 3], "frame 0 was cut: every other kept"
    assert [r for r in results if isinstance(r, FrameError)] == [], "the cut frame is no error"
    assert decoder.attach_bytes_skipped == first - cut
    assert decoder.counters() == {
        "frames": 3,
        "bytes": len(stream) - cut,
        "bytes_discarded": 0,
        "attach_bytes_skipped": first - cut,
    }


def test_attaching_mid_stream_across_reads_of_any_size() -> None:
    stream = b"\x55\x13\x99" + b"".join(frames(5))
    for size in (1, 2, 5, 64):
        decoder = FrameDecoder(mid_stream=True)
        got: list[Frame | FrameError] = []
        for i in range(0, len(stream), size):
            got += decoder.feed(stream[i : i + size])
        assert [r.seq for r in got if isinstance(r, Frame)] == [0, 1, 2, 3, 4], size
        assert decoder.attach_bytes_skipped == 3
        assert decoder.errors == {}


def test_an_attached_decoder_counts_leading_garbage_as_an_error() -> None:
    decoder = FrameDecoder()  # the default: the peer starts on a frame boundary
    results = decoder.feed(b"\x55\x13\x99" + frames(1)[0])
    assert [type(r) for r in results] == [FrameError, Frame]
    assert decoder.attach_bytes_skipped == 0
    assert sum(decoder.errors.values()) == 1


def test_corrupt_frames_are_counted_by_reason_and_nothing_after_them_is_lost() -> None:
    good = frames(6)
    bad_crc = b"\x00" + cobs_encode(bytes([1, 2, 0, 0, 0xAA, 0xBB])) + b"\x00"
    bad_version = encode_frame(Ack(1), 50, version=7)
    too_long = b"\x00" + b"\x55" * 700 + b"\x00"
    cobs = b"\x00\x07\x01\x00"
    truncated = b"\x00" + cobs_encode(b"\x01\x02") + b"\x00"
    stream = (
        b"\xee\xee"  # mid-frame at attach: skipped, not counted
        + good[0]
        + bad_crc
        + good[1]
        + too_long
        + good[2]
        + bad_version
        + good[3]
        + cobs
        + good[4]
        + truncated
        + good[5]
    )
    decoder = FrameDecoder(mid_stream=True)
    results = decoder.feed(stream)
    assert [r.seq for r in results if isinstance(r, Frame)] == [0, 1, 2, 3, 4, 5]
    reasons = [r.reason for r in results if isinstance(r, FrameError)]
    assert reasons == [
        FrameErrorReason.CRC,
        FrameErrorReason.TOO_LONG,
        FrameErrorReason.BAD_VERSION,
        FrameErrorReason.COBS,
        FrameErrorReason.TRUNCATED,
    ]
    c = decoder.counters()
    assert c["frames"] == 6
    assert c["attach_bytes_skipped"] == 2
    assert c["bytes"] == len(stream)
    assert c["bytes_discarded"] == 700
    assert {k: v for k, v in c.items() if k.startswith("errors_")} == {
        "errors_crc": 1,
        "errors_too-long": 1,
        "errors_bad-version": 1,
        "errors_cobs": 1,
        "errors_truncated": 1,
    }
    assert decoder.pending == 0


def test_reasons_are_the_protocol_names() -> None:
    assert [r.value for r in FrameErrorReason] == [
        "cobs",
        "too-long",
        "truncated",
        "crc",
        "bad-version",
        "unknown-type",
        "bad-payload",
    ]
    assert tuple(r.value for r in FrameErrorReason) == FrameError.REASONS
