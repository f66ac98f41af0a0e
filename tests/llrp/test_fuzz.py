"""Hypothesis fuzzing of the stream decoder, on a fixed budget (about 2-3 s in all):
whatever the bytes and however TCP splits them, it never raises, never sits on a whole
message, and a bad body never costs the message behind it. And of the one-shot decoder:
a real message with bits flipped, cut or extended anywhere (header included) decodes to a
message that can be encoded again, or raises ``DecodeError`` — nothing else (a deeper
search of it with ``-m long``, ``BOHSENSE_FUZZ_EXAMPLES`` examples)."""

from __future__ import annotations

import functools
import itertools
import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bohsense.llrp import (
    MESSAGES,
    DecodeError,
    LLRPError,
    Message,
    MessageDecoder,
    decode_message,
    encode_message,
)
from tests.llrp.captures import sllurp_bytes

BUDGET = settings(
    max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
KEEPALIVE = struct.pack(">HII", 0x0400 | 62, 10, 4242)
MAX = 4096


def _messages_of(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos + 2)
        out.append(data[pos : pos + length])
        pos += length
    return out


@functools.cache
def _samples() -> list[bytes]:
    """The first messages of each sllurp capture (read on first use, so a missing capture
    fails these tests, not the collection of the whole suite)."""
    names = (
        "ro_access_reports_x45.bin",
        "reader_event_notification.bin",
        "get_reader_capabilities_response.bin",
    )
    return [m for name in names for m in _messages_of(sllurp_bytes(name))[:5]]


SAMPLE = st.integers(min_value=0, max_value=14)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def _feed_checked(decoder: MessageDecoder, chunks: list[bytes]) -> list[Message | LLRPError]:
    got: list[Message | LLRPError] = []
    fed = 0
    for chunk in chunks:
        out = decoder.feed(chunk)
        fed += len(chunk)
        for item in out:
            assert isinstance(item, Message | LLRPError)
        got.extend(out)
        fatal = [e for e in got if isinstance(e, LLRPError) and e.fatal]
        assert len(fatal) <= 1
        if fatal:
            assert got[-1] is fatal[0], "nothing is returned after a fatal error"
            assert decoder.buffered == 0
            assert decoder.failed is fatal[0]
            continue
        # progress: what is held is at most one message, and it is really incomplete
        assert decoder.buffered <= min(fed, MAX)
        held = decoder.buffered
        if held >= 10:
            (length,) = struct.unpack(">I", bytes(decoder._buf[2:6]))
            assert length > held
    return got


@BUDGET
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(min_value=0), max_size=8))
def test_random_bytes_never_raise_and_never_stall(data: bytes, cuts: list[int]) -> None:
    _feed_checked(MessageDecoder(max_message_length=MAX), _chunks(data, cuts))


@BUDGET
@given(
    index=SAMPLE,
    edits=st.lists(st.tuples(st.integers(min_value=10), st.integers(0, 255)), min_size=1, max_size=6),
    cuts=st.lists(st.integers(min_value=0), max_size=6),
)
def test_a_corrupted_body_never_costs_the_next_message(
    index: int, edits: list[tuple[int, int]], cuts: list[int]
) -> None:
    body = bytearray(_samples()[index % len(_samples())])
    for at, byte in edits:
        body[10 + at % (len(body) - 10)] = byte  # the header stays intact: framing holds
    stream = bytes(body) + KEEPALIVE
    got = _feed_checked(MessageDecoder(max_message_length=MAX), _chunks(stream, cuts))
    assert got[-1] == decode_message(KEEPALIVE)[0]
    assert not any(isinstance(e, LLRPError) and e.fatal for e in got)
    decoded = [m for m in got[:-1] if isinstance(m, Message)]
    if decoded:
        (item,) = decoded
        # no byte is lost: parameters kept raw are re-encoded whole (after their typed siblings)
        assert len(encode_message(item)) == len(body)
        if not any(isinstance(e, LLRPError) for e in got):
            again, warnings = decode_message(encode_message(item))
            assert (again, warnings) == (item, [])


@BUDGET
@given(index=SAMPLE, cut=st.integers(min_value=0))
def test_a_truncated_message_is_reported_at_eof(index: int, cut: int) -> None:
    sample = _samples()[index % len(_samples())]
    decoder = MessageDecoder(max_message_length=MAX)
    part = sample[: cut % len(sample)]
    assert decoder.feed(part) == []
    closed = decoder.eof()
    if part:
        assert [e.reason.value for e in closed] == ["truncated-message"]
    else:
        assert closed == []


WARNINGS = {"unknown-parameter", "unexpected-parameter", "duplicate-parameter", "malformed-parameter"}
KNOWN_TYPES = sorted(MESSAGES)


@BUDGET
@given(
    bodies=st.lists(
        st.tuples(st.sampled_from(KNOWN_TYPES), st.binary(max_size=80), st.integers(0, 2**32 - 1)),
        min_size=1,
        max_size=5,
    ),
    cuts=st.lists(st.integers(min_value=0), max_size=6),
)
def test_every_well_framed_message_gives_exactly_one_answer(
    bodies: list[tuple[int, bytes, int]], cuts: list[int]
) -> None:
    stream = b"".join(struct.pack(">HII", 0x0400 | t, 10 + len(b), i) + b for t, b, i in bodies)
    got = _feed_checked(MessageDecoder(max_message_length=MAX), _chunks(stream, cuts))
    answers = [g for g in got if not (isinstance(g, LLRPError) and g.reason.value in WARNINGS)]
    assert not any(isinstance(a, LLRPError) and a.fatal for a in answers)
    assert [(type(a).TYPE if isinstance(a, Message) else a.message_type) for a in answers] == [
        t for t, _, _ in bodies
    ]
    assert [(a.message_id) for a in answers] == [i for _, _, i in bodies]


# -- one whole message, mutated anywhere: the one-shot decoder ----------------------------


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Bit flips (op 0), a cut (1), an extension (2) or a byte set (3) of ``data``."""
    out = bytearray(data)
    for op, at, arg in edits:
        if op == 0 and out:
            out[at % len(out)] ^= 1 << (arg % 8)
        elif op == 1:
            del out[at % (len(out) + 1) :]
        elif op == 2:
            out += bytes([arg % 256]) * (at % 64 + 1)
        elif op == 3 and out:
            out[at % len(out)] = arg % 256
    return bytes(out)


EDITS = st.lists(
    st.tuples(st.integers(0, 3), st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=5
)


def _decode_one(data: bytes, fix_length: bool) -> None:
    if fix_length and len(data) >= 10:  # the header's length made to agree: the body is tried
        data = data[:2] + struct.pack(">I", len(data)) + data[6:]
    try:
        message, warnings = decode_message(data)
    except DecodeError as exc:
        error = exc.error
        assert isinstance(error, LLRPError)
        assert error.reason.value
        return
    assert isinstance(message, Message)
    assert all(isinstance(w, LLRPError) and not w.fatal for w in warnings)
    encode_message(message)  # what was decoded is a message that can be sent on


@settings(BUDGET, max_examples=300)
@given(index=SAMPLE, edits=EDITS, fix_length=st.booleans())
def test_a_mutated_message_decodes_or_raises_decode_error(
    index: int, edits: list[tuple[int, int, int]], fix_length: bool
) -> None:
    _decode_one(_mutate(_samples()[index % len(_samples())], edits), fix_length)


@pytest.mark.long
@settings(BUDGET, max_examples=int(os.environ.get("BOHSENSE_FUZZ_EXAMPLES", "20000")))
@given(index=SAMPLE, edits=EDITS, fix_length=st.booleans())
def test_a_mutated_message_decodes_or_raises_decode_error_long(
    index: int, edits: list[tuple[int, int, int]], fix_length: bool
) -> None:
    _decode_one(_mutate(_samples()[index % len(_samples())], edits), fix_length)
