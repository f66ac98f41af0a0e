"""Condition-sensor messages: WAVEFORM fragments, TEMPERATURE, STATUS, the test vectors of
PROTOCOL.md byte for byte, refusals of bad payloads, and reassembly with loss detection."""

from __future__ import annotations

import math
import random
import re
import struct
from pathlib import Path

import pytest

from bohsense.firmware_bridge import (
    MAX_BLOCK_SAMPLES,
    MAX_FRAGMENT_SAMPLES,
    AssembledBlock,
    Axis,
    BlockLoss,
    DeviceStatus,
    EncodeError,
    Frame,
    FrameDecoder,
    FrameError,
    Message,
    StatusFlag,
    Temperature,
    Waveform,
    WaveformAssembler,
    WaveformFragment,
    encode_frame,
    split_waveform,
)
from bohsense.firmware_bridge._cobs import encode as cobs_encode
from bohsense.firmware_bridge._crc import crc16

PROTOCOL = Path(__file__).resolve().parents[2] / "firmware_bridge" / "PROTOCOL.md"

VECTORS: list[tuple[Message, int]] = [
    (WaveformFragment(1_000_000, True, Axis.Z, 7, 25600.0, 1 / 2048, 6, 1, 2, 3, (-32768, 0, 32767)), 258),
    (Temperature(1_000_000, True, 0, 4.5), 3),
    (DeviceStatus(1_000_000, True, StatusFlag.LOW_SUPPLY | StatusFlag.CLIPPING, 86400, 3300), 4),
]


def _documented_wires() -> list[bytes]:
    text = PROTOCOL.read_text()
    section = text[text.index("### Test vectors for the condition-sensor messages") :]
    wires = []
    for block in re.findall(r"```\n(.*?)```", section, flags=re.S):
        joined = re.sub(r"\n\s{6}", " ", block)  # continuation lines
        (wire,) = re.findall(r"^wire\s+([0-9a-f ]+)$", joined, flags=re.M)
        wires.append(bytes.fromhex(wire))
    return wires


def test_the_documented_vectors_are_the_bytes_on_the_wire() -> None:
    wires = _documented_wires()
    assert len(wires) == len(VECTORS)
    for (message, seq), wire in zip(VECTORS, wires, strict=True):
        assert encode_frame(message, seq) == wire, type(message).__name__
        (frame,) = FrameDecoder().feed(wire)
        assert frame == Frame(seq, message)


def _block(n: int, seed: int = 0, axis: Axis = Axis.X, seq: int = 0) -> Waveform:
    rng = random.Random(seed)
    counts = tuple(rng.randint(-32768, 32767) for _ in range(n))
    return Waveform(5_000_000, True, axis, seq, 25600.0, 1 / 4096, counts)


def _whole(block: Waveform) -> AssembledBlock:
    return AssembledBlock(
        block.time_us,
        block.synced,
        block.axis,
        block.block_seq,
        block.sample_rate_hz,
        block.scale_g,
        block.counts,
        lost=False,
    )


@pytest.mark.parametrize("n", [1, MAX_FRAGMENT_SAMPLES, MAX_FRAGMENT_SAMPLES + 1, 8192, MAX_BLOCK_SAMPLES])
def test_a_block_split_over_frames_comes_back_whole(n: int) -> None:
    block = _block(n, seed=n)
    fragments = split_waveform(block)
    assert len(fragments) == math.ceil(n / MAX_FRAGMENT_SAMPLES)
    wire = b"".join(encode_frame(f, i) for i, f in enumerate(fragments))
    assert all(len(encode_frame(f, 0)) <= 515 + 2 for f in fragments)
    assembler = WaveformAssembler()
    out = []
    for result in FrameDecoder().feed(wire):
        assert isinstance(result, Frame)
        assert isinstance(result.message, WaveformFragment)
        out += assembler.add(result.message, 0)
    assert out == [_whole(block)]
    assert assembler.counters["blocks"] == 1
    assert assembler.open_blocks == 0


def test_axes_interleaved_are_reassembled_apart() -> None:
    blocks = [_block(600, seed=i, axis=axis) for i, axis in enumerate(Axis)]
    per_axis = [split_waveform(b) for b in blocks]
    assembler = WaveformAssembler()
    out = []
    for group in zip(*per_axis, strict=True):  # x0 y0 z0 x1 y1 z1 …
        for fragment in group:
            out += assembler.add(fragment, 0)
    assert sorted(out, key=lambda b: b.axis) == [_whole(b) for b in blocks]


def _feed(fragments: list[WaveformFragment]) -> tuple[list[AssembledBlock], WaveformAssembler]:
    assembler = WaveformAssembler()
    out = []
    for f in fragments:
        out += assembler.add(f, 0)
    return out, assembler


def test_a_missing_fragment_marks_the_block_lost_and_the_next_block_is_whole() -> None:
    first, second = split_waveform(_block(1000, seq=0)), split_waveform(_block(1000, seed=1, seq=1))
    out, assembler = _feed(first[:2] + first[3:] + second)
    assert [b.lost for b in out] == [True, False]
    assert out[0].reasons == (BlockLoss.MISSING,)
    missing = [i for i, c in enumerate(out[0].counts) if c is None]
    assert missing == list(range(2 * MAX_FRAGMENT_SAMPLES, 3 * MAX_FRAGMENT_SAMPLES))
    assert out[1] == _whole(_block(1000, seed=1, seq=1))
    assert (assembler.counters["blocks"], assembler.counters["blocks_lost"]) == (1, 1)


def test_a_lost_tail_is_found_by_the_next_block() -> None:
    first, second = split_waveform(_block(1000, seq=4)), split_waveform(_block(1000, seed=1, seq=5))
    out, _ = _feed(first[:-1] + second)
    assert [(b.block_seq, b.lost) for b in out] == [(4, True), (5, False)]


def test_a_lost_head_makes_a_lost_block() -> None:
    fragments = split_waveform(_block(1000))
    out, _ = _feed(fragments[1:])
    assert [b.lost for b in out] == [True]
    assert out[0].counts[:MAX_FRAGMENT_SAMPLES] == (None,) * MAX_FRAGMENT_SAMPLES


def test_a_duplicated_fragment_marks_the_block_lost() -> None:
    fragments = split_waveform(_block(1000))
    out, assembler = _feed([fragments[0], fragments[1], fragments[1], *fragments[2:]])
    assert [b.lost for b in out] == [True]
    assert out[0].reasons == (BlockLoss.DUPLICATE,)
    assert assembler.counters[BlockLoss.DUPLICATE] == 1


def test_fragments_out_of_order_mark_the_block_lost() -> None:
    f = split_waveform(_block(1000))
    out, assembler = _feed([f[0], f[2], f[1], f[3], f[4]])
    assert [b.lost for b in out] == [True]
    assert set(out[0].reasons) == {BlockLoss.MISSING, BlockLoss.OUT_OF_ORDER}
    assert assembler.counters[BlockLoss.OUT_OF_ORDER] == 1


def test_a_fragment_with_another_header_marks_the_block_lost() -> None:
    f = split_waveform(_block(1000))
    other = split_waveform(Waveform(5_000_000, True, Axis.X, 0, 12800.0, 1 / 4096, _block(1000).counts))
    out, assembler = _feed([f[0], other[1], *f[2:]])
    assert [b.lost for b in out] == [True]
    assert BlockLoss.INCONSISTENT in out[0].reasons
    assert assembler.counters[BlockLoss.INCONSISTENT] == 1


def test_whole_blocks_never_seen_and_late_fragments_are_counted() -> None:
    blocks = [split_waveform(_block(300, seed=i, seq=i)) for i in range(5)]
    out, assembler = _feed(blocks[0] + blocks[3] + blocks[1][:1] + blocks[4])
    assert [b.block_seq for b in out] == [0, 3, 4]
    assert not any(b.lost for b in out)
    assert assembler.counters["blocks_missed"] == 2
    assert assembler.counters[BlockLoss.LATE] == 1


def test_block_seq_wraps() -> None:
    out, assembler = _feed(split_waveform(_block(300, seq=65535)) + split_waveform(_block(300, seq=0)))
    assert [b.block_seq for b in out] == [65535, 0]
    assert assembler.counters["blocks_missed"] == 0


def test_a_block_left_open_expires_lost() -> None:
    f = split_waveform(_block(1000))
    assembler = WaveformAssembler()
    assert assembler.add(f[0], 1_000_000) == []
    assert assembler.expire(2_000_000, 2_000_000) == []
    (block,) = assembler.expire(3_000_001, 2_000_000)
    assert block.lost
    assert BlockLoss.STALE in block.reasons


def test_a_slow_link_that_keeps_delivering_never_expires_the_block() -> None:
    fragments = split_waveform(_block(2000))  # 9 fragments, one every 1.5 s: 12 s for the block
    assembler = WaveformAssembler()
    out = []
    for i, f in enumerate(fragments):
        now = i * 1_500_000
        out += assembler.expire(now, 2_000_000)
        out += assembler.add(f, now)
    assert out == [_whole(_block(2000))]


def test_clipped_samples_are_counted() -> None:
    block = Waveform(0, True, Axis.Y, 0, 1000.0, 0.001, (0, 32767, 5, -32768, 32767))
    (out,) = _feed(split_waveform(block))[0]
    assert out.clipped == 3


# -- refusals -------------------------------------------------------------------------------


def _wire(type_code: int, payload: bytes, seq: int = 1) -> bytes:
    body = struct.pack("<BBH", 1, type_code, seq) + payload
    body += crc16(body).to_bytes(2, "little")
    return b"\x00" + cobs_encode(body) + b"\x00"


def _fragment_payload(
    *,
    axis: int = 0,
    rate: float = 25600.0,
    scale: float = 0.001,
    total: int = 10,
    index: int = 0,
    fragments: int = 2,
    offset: int = 0,
    count: int = 5,
    samples: int | None = None,
) -> bytes:
    head = struct.pack("<BBHqffHBBHB", 1, axis, 0, 0, rate, scale, total, index, fragments, offset, count)
    return head + struct.pack(
        f"<{count if samples is None else samples}h", *([1] * (count if samples is None else samples))
    )


BAD_PAYLOADS = {
    "truncated fragment (fewer samples than its count)": (0x0A, _fragment_payload(samples=4), "payload ends"),
    "more samples than its count": (0x0A, _fragment_payload(samples=6), "unexpected bytes"),
    "scale 0": (0x0A, _fragment_payload(scale=0.0), "scale"),
    "scale NaN": (0x0A, _fragment_payload(scale=math.nan), "scale"),
    "scale negative": (0x0A, _fragment_payload(scale=-0.001), "scale"),
    "sample rate 0": (0x0A, _fragment_payload(rate=0.0), "sample rate"),
    "sample rate absurd": (0x0A, _fragment_payload(rate=5e6), "sample rate"),
    "sample rate NaN": (0x0A, _fragment_payload(rate=math.nan), "sample rate"),
    "unknown axis": (0x0A, _fragment_payload(axis=3), "axis"),
    "fragment index past the count": (0x0A, _fragment_payload(index=2, fragments=2), "fragment 2 of 2"),
    "zero fragments": (0x0A, _fragment_payload(index=0, fragments=0), "fragment 0 of 0"),
    "zero samples": (0x0A, _fragment_payload(count=0), "samples in a fragment"),
    "empty block": (0x0A, _fragment_payload(total=0), "block of 0"),
    "block too long": (0x0A, _fragment_payload(total=MAX_BLOCK_SAMPLES + 1), "block of"),
    "samples past the block": (0x0A, _fragment_payload(offset=8, index=1), "run past"),
    "last fragment short of the end": (0x0A, _fragment_payload(index=1, offset=0), "last fragment ends"),
    "early fragment at the end": (0x0A, _fragment_payload(total=5, fragments=2), "already ends"),
    "temperature below absolute zero": (0x0B, struct.pack("<BqBf", 1, 0, 0, -300.0), "no temperature"),
    "temperature infinite": (0x0B, struct.pack("<BqBf", 1, 0, 0, math.inf), "no temperature"),
    "temperature probe 8": (0x0B, struct.pack("<BqBf", 1, 0, 8, 4.0), "probe 8"),
    "temperature short": (0x0B, struct.pack("<BqB", 1, 0, 0), "payload ends"),
    "status with unknown bits": (0x0C, struct.pack("<BqHIH", 1, 0, 0x8000, 1, 3300), "unknown status"),
    "status long": (0x0C, struct.pack("<BqHIH", 1, 0, 0, 1, 3300) + b"\x00", "unexpected bytes"),
}


@pytest.mark.parametrize("case", BAD_PAYLOADS, ids=list(BAD_PAYLOADS))
def test_bad_payloads_are_refused_with_a_clear_reason_and_the_stream_recovers(case: str) -> None:
    type_code, payload, detail = BAD_PAYLOADS[case]
    good = split_waveform(_block(300))
    decoder = FrameDecoder()
    results = decoder.feed(encode_frame(good[0], 0) + _wire(type_code, payload) + encode_frame(good[1], 2))
    assert [type(r) for r in results] == [Frame, FrameError, Frame]
    error = results[1]
    assert isinstance(error, FrameError)
    assert error.reason == "bad-payload"
    assert detail in error.detail, error.detail
    assert decoder.errors == {"bad-payload": 1}
    assembler = WaveformAssembler()
    out = []
    for r in results:
        if isinstance(r, Frame) and isinstance(r.message, WaveformFragment):
            out += assembler.add(r.message, 0)
    assert out == [_whole(_block(300))]


def test_a_fragment_cut_short_on_the_wire_costs_its_block_only() -> None:
    first, second = split_waveform(_block(600, seq=0)), split_waveform(_block(600, seed=2, seq=1))
    frames = [encode_frame(f, i) for i, f in enumerate(first + second)]
    frames[1] = frames[1][:-40]  # the middle fragment of block 0 lost its tail and delimiter
    decoder = FrameDecoder()
    assembler = WaveformAssembler()
    out = []
    for r in decoder.feed(b"".join(frames)):
        if isinstance(r, Frame):
            assert isinstance(r.message, WaveformFragment)
            out += assembler.add(r.message, 0)
    assert sum(decoder.errors.values()) == 1
    assert [(b.block_seq, b.lost) for b in out] == [(0, True), (1, False)]
    assert out[1] == _whole(_block(600, seed=2, seq=1))


@pytest.mark.parametrize(
    "message",
    [
        WaveformFragment(0, True, Axis.X, 0, 25600.0, 0.0, 1, 0, 1, 0, (1,)),
        WaveformFragment(0, True, Axis.X, 0, math.nan, 0.001, 1, 0, 1, 0, (1,)),
        WaveformFragment(0, True, Axis.X, 0, 25600.0, 0.001, 2, 0, 1, 0, (1,)),
        WaveformFragment(0, True, Axis.X, 0, 25600.0, 0.001, 1, 0, 1, 0, (40000,)),
        Temperature(0, True, 9, 1.0),
        DeviceStatus(0, True, StatusFlag(0), -1, 3300),
    ],
)
def test_messages_the_wire_cannot_carry_are_refused_when_encoding(message: Message) -> None:
    with pytest.raises(EncodeError):
        encode_frame(message, 0)


@pytest.mark.parametrize(
    "block",
    [
        Waveform(0, True, Axis.X, 0, 25600.0, 0.001, ()),
        Waveform(0, True, Axis.X, 0, 25600.0, 0.001, (0,) * (MAX_BLOCK_SAMPLES + 1)),
        Waveform(0, True, Axis.X, 0, 25600.0, 0.001, (32768,)),
        Waveform(0, True, Axis.X, 0, 0.5, 0.001, (1,)),
    ],
)
def test_blocks_the_wire_cannot_carry_are_refused_when_splitting(block: Waveform) -> None:
    with pytest.raises(EncodeError):
        split_waveform(block)


def test_temperature_nan_means_no_reading_and_is_carried() -> None:
    (frame,) = FrameDecoder().feed(encode_frame(Temperature(1, False, 2, math.nan), 0))
    assert isinstance(frame, Frame)
    assert isinstance(frame.message, Temperature)
    assert math.isnan(frame.message.celsius)
    assert frame.message.probe == 2


@pytest.mark.parametrize("seed", range(40))
def test_fragments_lost_repeated_or_reordered_never_make_a_wrong_whole_block(seed: int) -> None:
    rng = random.Random(seed)
    blocks = {(axis, seq): _block(rng.randint(1, 1500), seed=seed * 100 + seq, axis=axis, seq=seq)
              for seq in range(6) for axis in (Axis.X, Axis.Z)}  # fmt: skip
    stream: list[WaveformFragment] = []
    for seq in range(6):
        for axis in (Axis.X, Axis.Z):
            stream += split_waveform(blocks[(axis, seq)])
    damaged = list(stream)
    for _ in range(rng.randint(0, 4)):
        i = rng.randrange(len(damaged))
        match rng.choice(["drop", "repeat", "swap"]):
            case "drop":
                del damaged[i]
            case "repeat":
                damaged.insert(i, damaged[i])
            case "swap" if i + 1 < len(damaged):
                damaged[i], damaged[i + 1] = damaged[i + 1], damaged[i]
    assembler = WaveformAssembler()
    out: list[AssembledBlock] = []
    for f in damaged:
        out += assembler.add(f, 0)
    out += assembler.expire(10, 0)
    seen = set()
    for block in out:
        key = (block.axis, block.block_seq)
        assert key not in seen, "a block is reported once"
        seen.add(key)
        if not block.lost:
            assert block == _whole(blocks[key]), "a block reported whole is the block that was sent"
        else:
            assert block.reasons
            original = blocks[key].counts
            assert all(c is None or c == o for c, o in zip(block.counts, original, strict=True))
    if damaged == stream:
        assert len(out) == len(blocks)
        assert not any(b.lost for b in out)
