"""Typed events: registered kinds, validated attributes, per-event rejection."""

from __future__ import annotations

import msgspec
import pytest

from bohsense.contracts.events import (
    EVENT_KINDS,
    Alarm,
    Event,
    EventError,
    LaneChange,
    WireEvent,
    decode_event,
    event_kind,
)

TS = 1_700_000_000_000_000_000
PICK = Event("shelf-1", "shelf.pick", TS, LaneChange("shelf-1.lane-2", 2, 0.93, -660.0, 8))
ALARM = Event("compressor-1", "device.alarm", TS, Alarm("overtemp", "critical", True, "case at 9 °C"))

CODECS = [
    pytest.param(msgspec.msgpack.encode, msgspec.msgpack.Decoder(list[WireEvent]), False, id="msgpack"),
    pytest.param(msgspec.json.encode, msgspec.json.Decoder(list[WireEvent]), True, id="json"),
]


@pytest.mark.parametrize(("enc", "dec", "is_json"), CODECS)
def test_events_round_trip_in_both_encodings(enc: object, dec: object, is_json: bool) -> None:
    wire = dec.decode(enc([PICK, ALARM]))  # type: ignore[attr-defined, operator]
    assert [decode_event(w, json=is_json) for w in wire] == [PICK, ALARM]


def test_every_kind_is_registered_once_with_a_struct_schema() -> None:
    names = [k.name for k in EVENT_KINDS]
    assert len(names) == len(set(names))
    for k in EVENT_KINDS:
        assert issubclass(k.attrs, msgspec.Struct)
        assert event_kind(k.name) is k
    assert event_kind("device.alarm").urgent
    assert not event_kind("shelf.pick").urgent
    assert ALARM.urgent
    assert not PICK.urgent


def test_a_producer_cannot_build_an_event_of_an_unknown_kind_or_with_foreign_attrs() -> None:
    with pytest.raises(EventError) as unknown:
        Event("d", "shelf.teleport", TS, PICK.attrs)
    assert unknown.value.reason == "unknown-event-kind"
    with pytest.raises(EventError) as foreign:
        Event("d", "shelf.pick", TS, ALARM.attrs)
    assert foreign.value.reason == "event-attrs"


def _wire(kind: str, attrs: object) -> WireEvent:
    return WireEvent("shelf-1", kind, TS, msgspec.Raw(msgspec.msgpack.encode(attrs)))


@pytest.mark.parametrize(
    ("kind", "attrs", "reason"),
    [
        ("shelf.teleport", {"lane": "l", "units": 1}, "unknown-event-kind"),
        ("shelf.pick", {"lane": "l", "units": 0, "confidence": 0.5, "weight_delta_g": 1.0, "units_after": 0}, "event-attrs"),
        ("shelf.pick", {"lane": "l", "units": 1, "confidence": 1.5, "weight_delta_g": 1.0, "units_after": 0}, "event-attrs"),
        ("shelf.pick", {"lane": "l", "units": 1, "confidence": 0.5, "weight_delta_g": 1.0, "units_after": 0, "x": 1}, "event-attrs"),
        ("shelf.pick", {"lane": "l"}, "event-attrs"),
        ("device.alarm", {"code": "x", "severity": "apocalyptic", "active": True}, "event-attrs"),
        ("device.alarm", [1, 2, 3], "event-attrs"),
    ],
)  # fmt: skip
def test_bad_attributes_are_refused_with_a_reason(kind: str, attrs: object, reason: str) -> None:
    with pytest.raises(EventError) as err:
        decode_event(_wire(kind, attrs))
    assert err.value.reason == reason


@pytest.mark.parametrize(
    "envelope",
    [
        ["shelf-1", "Shelf.Pick", TS, {}],
        ["shelf-1", "shelf.pick", "yesterday", {}],
        ["shelf-1", "shelf.pick", 1.5, {}],
        ["shelf-1", "shelf.pick", TS],
        ["shelf-1", "shelf.pick", TS, {}, "extra"],
    ],
)
def test_a_bad_envelope_fails_validation(envelope: list[object]) -> None:
    # an impossible event time (negative, beyond 64 bits) is not an envelope error: like a
    # reading's, it is refused per event by the cloud, which knows the time of arrival
    with pytest.raises(msgspec.ValidationError):
        msgspec.msgpack.Decoder(WireEvent).decode(msgspec.msgpack.encode(envelope))


def test_a_bad_device_name_is_refused_per_event() -> None:
    wire = WireEvent("shelf 1", "shelf.pick", TS, msgspec.Raw(msgspec.msgpack.encode(PICK.attrs)))
    with pytest.raises(EventError) as err:
        decode_event(wire)
    assert err.value.reason == "event-device"


def test_every_contract_error_shares_one_root() -> None:
    from bohsense.contracts.broker import BrokerUrlError
    from bohsense.contracts.codec import PayloadError
    from bohsense.contracts.errors import ContractError, Reason
    from bohsense.contracts.topics import TopicError

    for cls in (BrokerUrlError, PayloadError, TopicError, EventError):
        assert issubclass(cls, ContractError)
    err = EventError(Reason.EVENT_ATTRS, "x")
    # a reason stores and compares as its short string
    assert err.reason == "event-attrs"
    assert f"{err.reason}" == "event-attrs"
    assert str(err) == "event-attrs: x"


def test_rfid_item_and_zone_events_decode_and_bad_ones_are_refused() -> None:
    from bohsense.contracts.events import ItemPresence, ZoneSnapshot

    item = ItemPresence(
        "3074257BF7194E4000001A85", "moved", "backroom", "reader-1", 2, -58.5, 7,
        from_zone="floor", gtin="80614141123458", serial="6789",
    )  # fmt: skip
    got = decode_event(_wire("rfid.item", item))
    assert got.attrs == item
    snap = ZoneSnapshot("floor", {"80614141123458": 12}, other=1)
    assert decode_event(_wire("rfid.zone_snapshot", snap)).attrs == snap
    bad = [
        {**msgspec.to_builtins(item), "epc": "3074257bf7194e4000001a85"},  # lower case
        {**msgspec.to_builtins(item), "epc": "ABC"},  # half a byte
        {**msgspec.to_builtins(item), "transition": "teleported"},
        {**msgspec.to_builtins(item), "gtin": "123"},
        {**msgspec.to_builtins(item), "rssi_dbm": 300.0},
    ]
    for attrs in bad:
        with pytest.raises(EventError) as err:
            decode_event(_wire("rfid.item", attrs))
        assert err.value.reason == "event-attrs"
