"""Events of a batch checked one by one, bytes only: a bad event is quarantined alone, with
its reason, as a one-event copy of its batch; the rest of the batch is kept."""

from __future__ import annotations

import msgspec
import pytest

from bohsense.cloud.ingest import check_message
from bohsense.contracts.codec import decode_batch, encode
from bohsense.contracts.events import decode_event
from bohsense.contracts.schema import Reading
from bohsense.contracts.topics import readings_topic
from tests.cloud.ingest._events import alarm, event_batch, json_batch, pick, raw_wire, wire

NOW = 1_750_000_000 * 10**9
FUTURE = 300 * 10**9
TOPIC = readings_topic("gw-1")
GOOD = Reading("d", "temp_c", NOW - 10**9, 20.0)
T = NOW - 5 * 10**9


def test_good_events_pass_decoded_with_their_positions() -> None:
    b = event_batch("gw-1", 7, NOW, [GOOD], [wire(pick("shelf-1", T)), wire(alarm("cooler-1", T + 1))])
    out = check_message(TOPIC, encode(b), NOW, FUTURE)
    assert out.batch == b
    assert out.quarantine == []
    assert [(e.index, e.event) for e in out.events] == [
        (0, pick("shelf-1", T)),
        (1, alarm("cooler-1", T + 1)),
    ]


@pytest.mark.parametrize(
    ("bad", "reason", "said"),
    [
        (raw_wire("shelf-1", "shelf.teleport", T, {"lane": "l"}), "unknown-event-kind", "not registered"),
        (raw_wire("shelf-1", "shelf.pick", T, {"lane": "l", "units": 0}), "event-attrs", "shelf.pick"),
        (raw_wire("shelf 1", "shelf.pick", T, {}), "event-device", "device name"),
        (wire(pick("shelf-1", 5)), "bad-time", "before 2000"),
        (wire(pick("shelf-1", NOW + 86_400 * 10**9)), "bad-time", "in the future"),
    ],
)
def test_a_bad_event_is_quarantined_alone_and_the_rest_kept(bad: object, reason: str, said: str) -> None:
    good0, good2 = wire(pick("shelf-1", T)), wire(alarm("cooler-1", T))
    b = event_batch("gw-1", 7, NOW, [GOOD], [good0, bad, good2])  # type: ignore[list-item]
    out = check_message(TOPIC, encode(b), NOW, FUTURE)
    assert out.batch is not None
    assert (out.batch.seq, out.batch.readings, out.batch.events) == (7, [GOOD], [good0, good2])
    assert [e.index for e in out.events] == [0, 2]
    (item,) = out.quarantine
    assert (item.reason, item.topic, item.gateway, item.received_ns) == (reason, TOPIC, "gw-1", NOW)
    assert said in item.detail
    assert "event 1 " in item.detail
    assert "seq 7" in item.detail
    kept = decode_batch(item.payload)  # the bad event kept as a replayable one-event batch
    assert (kept.gateway, kept.seq, kept.readings, kept.events) == ("gw-1", 7, [], [bad])


def test_bad_readings_and_bad_events_of_one_batch_are_each_quarantined() -> None:
    bad_reading = Reading("d", "temp_c", 5, 1.0)
    unknown = raw_wire("shelf-1", "shelf.teleport", T, {})
    b = event_batch("gw-1", 7, NOW, [GOOD, bad_reading], [unknown, wire(pick("shelf-1", T))])
    out = check_message(TOPIC, encode(b), NOW, FUTURE)
    assert out.batch is not None
    assert (out.batch.readings, [e.index for e in out.events]) == ([GOOD], [1])
    assert sorted(i.reason for i in out.quarantine) == ["bad-time", "unknown-event-kind"]
    for item in out.quarantine:  # each copy holds only what it is about
        kept = decode_batch(item.payload)
        assert len(kept.readings) + len(kept.events) == 1


def test_a_batch_of_only_bad_events_still_carries_its_seq() -> None:
    b = event_batch("gw-1", 7, NOW, [], [raw_wire("shelf-1", "nope", T, {})])
    out = check_message(TOPIC, encode(b), NOW, FUTURE)
    assert out.batch is not None
    assert (out.batch.seq, out.batch.readings, out.batch.events, out.events) == (7, [], [], ())
    assert [i.reason for i in out.quarantine] == ["unknown-event-kind"]


def test_json_events_are_decoded_as_json_and_kept_as_messagepack() -> None:
    attrs = {"lane": "lane-1", "units": 2, "confidence": 0.9, "weight_delta_g": -710.0, "units_after": 8}
    payload = json_batch(
        "gw-1",
        7,
        NOW,
        [GOOD],
        [("shelf-1", "shelf.pick", T, attrs), ("shelf-1", "shelf.teleport", T, {"a": 1})],
    )
    out = check_message(TOPIC, payload, NOW, FUTURE)
    assert out.batch is not None
    (accepted,) = out.events
    assert accepted.index == 0
    assert accepted.event.attrs.units == 2  # type: ignore[attr-defined]
    (w,) = out.batch.events
    assert decode_event(w) == accepted.event  # MessagePack attributes: every copy the cloud makes
    assert decode_batch(encode(out.batch)).events == [w]
    (item,) = out.quarantine
    assert item.reason == "unknown-event-kind"
    assert item.payload.startswith(b"{")  # kept in the encoding it came in: its attrs are that JSON
    assert msgspec.json.decode(item.payload)["events"] == [["shelf-1", "shelf.teleport", T, {"a": 1}]]
