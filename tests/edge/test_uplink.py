"""The wire form of an outbox entry is a valid contracts.ReadingBatch."""

from __future__ import annotations

import msgspec

from bohsense.contracts.codec import decode_batch, encode
from bohsense.contracts.schema import Reading, ReadingBatch
from bohsense.edge.uplink import _WireBatch


def test_wire_batch_decodes_as_a_reading_batch_and_matches_its_encoding() -> None:
    readings = [Reading("d-1", "temp_c", 1_700_000_000_000_000_000 + i, i / 3) for i in range(5)]
    raw = msgspec.msgpack.encode(readings)
    wire = msgspec.msgpack.encode(_WireBatch("gw-1", 42, 123, msgspec.Raw(raw), 40, "site-a"))
    expected = ReadingBatch(gateway="gw-1", seq=42, sent=123, readings=readings, floor=40, site="site-a")
    assert decode_batch(wire) == expected
    assert wire == encode(expected), "byte-identical to the contracts encoder"
