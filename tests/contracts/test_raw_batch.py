"""The envelope the gateway wraps around readings and events it already holds encoded."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import pytest

from bohsense.contracts import codec
from bohsense.contracts.codec import (
    Encoding,
    decode_batch,
    encode,
    encode_events,
    encode_raw,
    encode_raw_batch,
)
from bohsense.contracts.events import Alarm, Event, LaneChange, decode_event
from bohsense.contracts.schema import (
    MAX_READINGS_PER_BATCH,
    Count,
    GatewayId,
    Nanos,
    Reading,
    ReadingBatch,
    Seq,
    SiteId,
)

T0 = 1_790_000_000_000_000_000
READINGS = [Reading("shelf-1.lane-1", "weight_g", T0 + i, 812.5 - i) for i in range(3)]
EVENTS = [
    Event("shelf-1", "shelf.pick", T0 + 7, LaneChange("lane-1", 2, 0.93, -301.5, 8)),
    Event("gw", "device.alarm", T0 + 8, Alarm("door.open", "critical", True, "back door")),
]


def test_the_raw_envelope_has_the_fields_of_reading_batch_in_order_with_its_defaults() -> None:
    raw = msgspec.structs.fields(codec._RawBatch)
    real = msgspec.structs.fields(ReadingBatch)
    assert [f.name for f in raw] == [f.name for f in real]
    assert [f.encode_name for f in raw] == [f.encode_name for f in real]
    assert [f.required for f in raw] == [f.required for f in real]
    for r, f in zip(raw, real, strict=True):
        if f.name == "events":  # an empty list there is the field left out here
            assert f.default_factory is list
            assert r.default is msgspec.UNSET
        elif not f.required:
            assert r.default == f.default, f.name
    assert codec._RawBatch.__struct_config__.omit_defaults
    assert ReadingBatch.__struct_config__.omit_defaults


@pytest.mark.parametrize("encoding", list(Encoding))
@pytest.mark.parametrize("with_events", [False, True])
def test_a_raw_batch_is_byte_for_byte_the_reading_batch_and_decodes_to_it(
    encoding: Encoding, with_events: bool
) -> None:
    events = EVENTS if with_events else []
    wire = encode_raw_batch(
        gateway="gw-1",
        seq=42,
        sent=T0 + 99,
        readings=encode_raw(READINGS, encoding),
        floor=40,
        site="site-a",
        events=encode_events(events, encoding) if events else None,
        urgent=with_events,
        encoding=encoding,
    )
    got = decode_batch(wire)
    assert (got.gateway, got.seq, got.sent, got.floor, got.site, got.urgent) == (
        "gw-1", 42, T0 + 99, 40, "site-a", with_events,
    )  # fmt: skip
    assert got.readings == READINGS
    assert [decode_event(w, json=encoding is Encoding.JSON) for w in got.events] == events
    # the same bytes as the contracts encoder makes of the decoded batch
    assert wire == encode(got, encoding)


def test_a_batch_of_only_events_is_valid_and_an_empty_one_is_not() -> None:
    wire = encode_raw_batch(
        gateway="gw-1", seq=1, sent=T0, readings=encode_raw([]), events=encode_events(EVENTS[1:]), urgent=True
    )
    got = decode_batch(wire)
    assert (got.readings, len(got.events), got.urgent) == ([], 1, True)
    empty = encode_raw_batch(
        gateway="gw-1", seq=1, sent=T0, readings=encode_raw([]), events=encode_events([])
    )
    with pytest.raises(codec.PayloadError, match="at least one reading or event"):
        decode_batch(empty)


class _V1ReadingBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``ReadingBatch`` as the first release of the cloud knows it (no events, no urgent)."""

    gateway: GatewayId
    seq: Seq
    sent: Nanos
    readings: Annotated[list[Reading], msgspec.Meta(max_length=MAX_READINGS_PER_BATCH)]
    floor: Count = 0
    site: SiteId = ""
    v: Literal[1] = 1


@pytest.mark.parametrize("encoding", list(Encoding))
def test_a_cloud_predating_events_reads_what_a_gateway_sends_without_events(encoding: Encoding) -> None:
    wire = encode_raw_batch(
        gateway="gw-1", seq=5, sent=T0, readings=encode_raw(READINGS, encoding), floor=2, encoding=encoding
    )
    dec = (
        msgspec.json.Decoder(_V1ReadingBatch)
        if encoding is Encoding.JSON
        else msgspec.msgpack.Decoder(_V1ReadingBatch)
    )
    old = dec.decode(wire)
    assert (old.gateway, old.seq, old.floor, old.readings) == ("gw-1", 5, 2, READINGS)
    # with events it is refused, as the rollout order says (clouds first, then gateways)
    with_events = encode_raw_batch(
        gateway="gw-1", seq=6, sent=T0, readings=encode_raw(READINGS, encoding),
        events=encode_events(EVENTS, encoding), encoding=encoding,
    )  # fmt: skip
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        dec.decode(with_events)
