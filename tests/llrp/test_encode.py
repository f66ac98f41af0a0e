"""The encoder covers every message and parameter the core types: each sample encodes,
decodes back to itself, and a few are checked against hand-assembled bytes."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from bohsense.llrp import (
    EPC96,
    MESSAGES,
    PARAMETERS,
    KeepaliveAck,
    Message,
    Parameter,
    ROAccessReport,
    TagReportData,
    decode_message,
    encode_message,
)
from tests.llrp.samples import SAMPLES
from tests.llrp.wire import EPC_A, message, tag


def _walk(obj: object) -> set[int]:
    found: set[int] = set()
    if isinstance(obj, Parameter | Message):
        found.add(type(obj).TYPE)
        for f in dataclasses.fields(obj):
            found |= _walk(getattr(obj, f.name))
    elif isinstance(obj, tuple):
        for item in obj:
            found |= _walk(item)
    return found


def test_every_message_and_parameter_type_has_a_sample() -> None:
    assert {type(m).TYPE for m in SAMPLES} == set(MESSAGES)
    used = set().union(*(_walk(m) for m in SAMPLES))
    assert set(PARAMETERS) - used == set()


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda m: f"{type(m).__name__}-{m.message_id}")
def test_every_sample_goes_round_the_codec(sample: Message) -> None:
    wire = encode_message(sample)
    (length,) = struct.unpack_from(">I", wire, 2)
    assert length == len(wire)
    assert wire[:2] == struct.pack(">H", (1 << 10) | type(sample).TYPE)
    assert decode_message(wire) == (sample, [])


def test_bytes_match_hand_assembly() -> None:
    assert encode_message(KeepaliveAck(message_id=0x01020304)) == bytes.fromhex("0448 0000000a 01020304")
    report = ROAccessReport(
        message_id=5, tags=(TagReportData(epc=EPC96(epc=EPC_A), antenna_id=1, peak_rssi=-50),)
    )
    assert encode_message(report) == message(61, 5, tag(EPC_A, 1, -50))
