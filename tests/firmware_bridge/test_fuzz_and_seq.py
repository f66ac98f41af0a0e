"""Random bytes never make the decoder raise, and never cost a good frame after them."""

from __future__ import annotations

import random

import pytest

from bohsense.firmware_bridge import (
    Frame,
    FrameDecoder,
    FrameError,
    Samples,
    SequenceTracker,
    TimeSyncResponse,
    encode_frame,
    estimate_clock,
)


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    decoder = FrameDecoder()
    for _ in range(200):
        chunk = rng.randbytes(rng.randint(0, 300))
        for result in decoder.feed(chunk):
            assert isinstance(result, Frame | FrameError)
            if isinstance(result, FrameError):
                assert result.reason in FrameError.REASONS


@pytest.mark.parametrize("seed", range(20))
def test_good_frames_survive_garbage_between_them(seed: int) -> None:
    rng = random.Random(seed)
    stream = bytearray()
    expected = []
    for seq in range(300):
        if rng.random() < 0.3:
            stream += rng.randbytes(rng.randint(1, 600))
        message = Samples(seq * 100_000, True, tuple(float(rng.randint(-1000, 1000)) for _ in range(4)))
        expected.append((seq, message))
        stream += encode_frame(message, seq)
    decoder = FrameDecoder()
    got = []
    pos = 0
    while pos < len(stream):  # arbitrary read sizes, as a serial port returns them
        size = rng.randint(1, 512)
        for result in decoder.feed(bytes(stream[pos : pos + size])):
            if isinstance(result, Frame):
                got.append((result.seq, result.message))
        pos += size
    # garbage may by chance contain a valid frame; every expected frame is there, in order
    got_iter = iter(got)
    assert all(any(item == g for g in got_iter) for item in expected)
    assert len(got) - len(expected) <= 1


@pytest.mark.parametrize("seed", range(10))
def test_single_bit_flips_are_caught(seed: int) -> None:
    rng = random.Random(seed)
    wire = bytearray(encode_frame(Samples(123_456, True, (1.0, 2.0, 3.0)), 17))
    for _ in range(200):
        damaged = bytearray(wire)
        pos = rng.randrange(1, len(damaged) - 1)
        damaged[pos] ^= 1 << rng.randrange(8)
        results = FrameDecoder().feed(bytes(damaged))
        assert not any(isinstance(r, Frame) for r in results)
        assert results, "a damaged frame must be reported, not silently dropped"


def test_sequence_gaps_wrap_and_duplicates() -> None:
    tracker = SequenceTracker()
    assert tracker.check(65533).lost == 0
    assert tracker.check(65534).lost == 0
    assert tracker.check(1).lost == 2  # 65535 and 0 lost across the wrap
    assert tracker.check(1).duplicate
    assert tracker.check(65535).duplicate  # late frame from before the wrap
    assert tracker.check(2).lost == 0
    assert (tracker.received, tracker.lost, tracker.duplicates) == (4, 2, 2)
    tracker.reset()
    assert tracker.check(0).lost == 0


def test_clock_estimate_is_the_ntp_calculation() -> None:
    # device clock 5 s ahead, 2 ms each way, 1 ms processing
    t1 = 1_000_000_000
    t2 = t1 + 2_000 + 5_000_000
    t3 = t2 + 1_000
    t4 = t1 + 5_000
    estimate = estimate_clock(TimeSyncResponse(t1, t2, t3, True), t4)
    assert estimate.offset_us == 5_000_000
    assert estimate.delay_us == 4_000
    assert estimate.to_gateway_us(t3) == t3 - 5_000_000
