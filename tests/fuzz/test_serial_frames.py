"""Fuzzing the serial frame decoder every shelf and sensor driver reads through
(``firmware_bridge.FrameDecoder`` / ``parse_frame``; the edge's serial drivers hand it the
port's bytes as they come).

Documented behaviour: bad bytes are *returned* as ``FrameError`` values, never raised, and
the decoder re-synchronises at the next 0x00. So whatever the input — random bytes, valid
frames with bits flipped, cut short or extended, and frames whose CRC is right around a
payload that is not (the case a CRC cannot catch: a firmware bug) — the only outputs are
``Frame`` and ``FrameError``, a ``Frame``'s message encodes again to the same frame, and no
more than one incomplete frame is ever held.
"""

from __future__ import annotations

from hypothesis import strategies as st

from bohsense.firmware_bridge import (
    MAX_ENCODED_SIZE,
    PROTOCOL_VERSION,
    Frame,
    FrameDecoder,
    FrameError,
    MsgType,
    crc16,
    encode_frame,
    parse_frame,
)
from bohsense.firmware_bridge._cobs import decode as cobs_decode
from bohsense.firmware_bridge._cobs import encode as cobs_encode
from tests.firmware_bridge.test_codec import MESSAGES
from tests.fuzz._budget import both, mutated

VALID = [encode_frame(m, 40 + i) for i, m in enumerate(MESSAGES)]
VALID_BODIES = [cobs_decode(w[1:-1])[:-2] for w in VALID]  # header + payload, without the CRC
TYPES = sorted(int(t) for t in MsgType)


def _framed(body: bytes) -> bytes:
    """``body`` as a frame with a right CRC: only the payload parser can refuse it."""
    return b"\x00" + cobs_encode(body + crc16(body).to_bytes(2, "little")) + b"\x00"


def _check(results: list[Frame | FrameError]) -> list[Frame]:
    frames = []
    for r in results:
        assert isinstance(r, Frame | FrameError), r
        if isinstance(r, FrameError):
            assert r.reason in FrameError.REASONS
            assert isinstance(r.detail, str)
            assert r.detail
            continue
        frames.append(r)
        again = parse_frame(encode_frame(r.message, r.seq)[1:-1])
        assert isinstance(again, Frame), again  # what was accepted is a message the encoder can send
        assert encode_frame(again.message, again.seq) == encode_frame(r.message, r.seq)
    return frames


def _feed(stream: bytes, cuts: list[int], *, mid_stream: bool = False) -> list[Frame]:
    decoder = FrameDecoder(mid_stream=mid_stream)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    frames: list[Frame] = []
    for a, b in zip([0, *points], [*points, len(stream)], strict=True):
        frames += _check(decoder.feed(stream[a:b]))
        assert decoder.pending <= MAX_ENCODED_SIZE
    return frames


CUTS = st.lists(st.integers(min_value=0), max_size=6)


def _random_bytes(data: bytes, cuts: list[int], mid_stream: bool) -> None:
    _feed(data, cuts, mid_stream=mid_stream)


test_random_bytes, test_random_bytes_long = both(
    _random_bytes, data=st.binary(max_size=1200), cuts=CUTS, mid_stream=st.booleans()
)


def _mutated_wire(frame: bytes, cuts: list[int]) -> None:
    good = VALID[0]
    frames = _feed(frame + good, cuts)
    assert frames, "the good frame after a damaged one is never lost"
    assert frames[-1].seq == 40


test_mutated_frames_on_the_wire, test_mutated_frames_on_the_wire_long = both(
    _mutated_wire, frame=mutated(st.sampled_from(VALID)), cuts=CUTS
)


def _mutated_body(body: bytes) -> None:
    (result,) = FrameDecoder().feed(_framed(body)) or [None]
    assert result is not None
    _check([result])


test_mutated_payloads_with_a_right_crc, test_mutated_payloads_with_a_right_crc_long = both(
    _mutated_body, body=mutated(st.sampled_from(VALID_BODIES))
)


def _any_payload(type_code: int, seq: int, payload: bytes) -> None:
    body = bytes([PROTOCOL_VERSION, type_code]) + seq.to_bytes(2, "little") + payload
    results = FrameDecoder().feed(_framed(body))
    assert len(results) == 1
    _check(results)


test_any_payload_of_every_type, test_any_payload_of_every_type_long = both(
    _any_payload,
    type_code=st.sampled_from(TYPES) | st.integers(0, 255),
    seq=st.integers(0, 0xFFFF),
    payload=st.binary(max_size=300),
)
