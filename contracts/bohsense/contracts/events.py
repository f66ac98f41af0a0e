"""Typed events: what happened at a device (a pick, a local alarm), beside what was measured.

A reading is a number of a series (``device``, ``metric``, ``ts``, ``value``); an event is
a fact with attributes of its own kind. Events travel in the same ``ReadingBatch`` as
readings, under the batch's one ``(gateway, seq)``, so the outbox, exactly-once, CloudAck
and ``floor`` hold for them unchanged.

Every kind is registered in ``EVENT_KINDS`` below with the schema of its attributes (a
frozen msgspec struct), so an event is validated like everything else on the wire; the
AsyncAPI document publishes each schema. On the wire an event is the array
``[device, kind, ts, attrs]``: ``attrs`` is decoded by kind only after the envelope, so an
event of a kind this cloud does not know, or with bad attributes, is rejected on its own
(``unknown-event-kind``, ``event-attrs``) and the rest of its batch is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec

from bohsense.contracts.errors import Reason, ReasonedError
from bohsense.contracts.schema import KIND_PATTERN, NAME_PATTERN, Name, WireEvent, valid_name

__all__ = [
    "EVENT_KINDS",
    "Alarm",
    "Event",
    "EventError",
    "EventKind",
    "ItemPresence",
    "LaneChange",
    "LaneState",
    "WaveformSnapshot",
    "WireEvent",
    "ZoneSnapshot",
    "decode_event",
    "event_kind",
]

_KIND_RE = re.compile(KIND_PATTERN)


class LaneChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Units taken from (``shelf.pick``) or put back on (``shelf.putback``) one lane.

    ``confidence`` (0-1) says how sure the estimator is that the weight change is
    ``units`` whole items of the lane's SKU; ``weight_delta_g`` is the settled change.
    """

    lane: Name
    units: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
    weight_delta_g: Annotated[float, msgspec.Meta(ge=-1e7, le=1e7)]
    units_after: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


LaneCondition = Literal["stable", "settling", "unfit", "fault"]


class LaneState(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A shelf lane's state changed (``shelf.lane_state``).

    ``stable``: the weight is settled on a whole number of units, ``units`` is the count;
    ``settling``: the weight is moving (someone at the shelf), no count is claimed;
    ``unfit``: settled on a weight that fits no whole number of units of the lane's SKU
    (a foreign item, a wrong SKU, a calibration gone off), no count is claimed;
    ``fault``: the load cell cannot be trusted (dead, stuck, out of range, unplugged),
    counts stop until it recovers. ``reason`` says why (``stuck``, ``dead``,
    ``out_of_range``, ``detached``, ``unfit_weight``…, "" when stable); ``weight_g`` is
    the lane's net weight when known.
    """

    lane: Name
    state: LaneCondition
    units: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None
    reason: Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[a-z0-9_]*$")] = ""
    weight_g: Annotated[float, msgspec.Meta(ge=-1e7, le=1e7)] | None = None
    confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 1.0


class Alarm(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A local alarm raised (``active``) or cleared at the edge, sent ahead of any backlog."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]
    severity: Literal["info", "warning", "critical"]
    active: bool
    message: Annotated[str, msgspec.Meta(max_length=512)] = ""


#: an EPC as upper-case hex, whole bytes: 96 bits are 24 digits, at most 496 bits
EpcHex = Annotated[str, msgspec.Meta(min_length=2, max_length=124, pattern=r"^(?:[0-9A-F]{2})+$")]
#: a GTIN-14 (digits, check digit included), or "" when the EPC is not a GTIN scheme
Gtin = Annotated[str, msgspec.Meta(max_length=14, pattern=r"^(?:[0-9]{14})?$")]
Transition = Literal["arrived", "moved", "departed"]


class ItemPresence(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A tagged item arrived in a zone, moved from one zone to another, or departed.

    ``zone`` is where the item is now (for ``departed``: the zone it left); ``from_zone``
    is the zone it left on ``moved``, else "". ``gtin`` / ``serial`` are decoded from an
    SGTIN EPC ("" otherwise). ``reader`` / ``antenna`` saw it strongest; ``rssi_dbm`` is
    the smoothed signal there and ``reads`` how many reads back the decision.
    """

    epc: EpcHex
    transition: Transition
    zone: Name
    reader: Name
    antenna: Annotated[int, msgspec.Meta(ge=0, le=65_535)]
    rssi_dbm: Annotated[float, msgspec.Meta(ge=-128.0, le=127.0)]
    reads: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
    from_zone: Annotated[str, msgspec.Meta(max_length=128, pattern=r"^[A-Za-z0-9_.:/\-]*$")] = ""
    gtin: Gtin = ""
    serial: Annotated[str, msgspec.Meta(max_length=20, pattern=r"^[0-9]*$")] = ""


class ZoneSnapshot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How many tagged items are present in ``zone`` now, per GTIN-14; ``other`` counts
    items whose EPC is not a GTIN scheme. Sent periodically, so the cloud can reconcile."""

    zone: Name
    counts: Annotated[
        dict[Gtin, Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]], msgspec.Meta(max_length=10_000)
    ]
    other: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] = 0


#: the most samples one waveform snapshot carries (128 KiB of int16)
MAX_SNAPSHOT_SAMPLES = 65_536


class WaveformSnapshot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One raw vibration block of one axis (``condition.snapshot``), sent on demand (a
    gateway command) or around a local alarm.

    ``samples`` holds the block as little-endian int16 counts, ``scale_g`` g per count
    (acceleration = count × ``scale_g``), ``fs_hz`` the sample rate; the event's ``ts`` is
    the first sample's time. ``trigger`` says why it was sent and ``ref`` what for (the
    alarm code, or the command's request); ``fault`` is the sensor-fault reason the
    gateway found in the block ("" when none; non-finite samples are sent as 0), ``lost``
    that part of it never arrived, ``clipped`` how many samples sat at the sensor's limits.
    """

    axis: Annotated[str, msgspec.Meta(min_length=1, max_length=8, pattern=r"^[a-z0-9]+$")]
    block_seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    fs_hz: Annotated[float, msgspec.Meta(gt=0.0, le=1e6)]
    scale_g: Annotated[float, msgspec.Meta(gt=0.0, le=1e3)]
    samples: Annotated[bytes, msgspec.Meta(min_length=2, max_length=2 * MAX_SNAPSHOT_SAMPLES)]
    trigger: Literal["command", "alarm"]
    ref: Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[A-Za-z0-9_.:\-]*$")] = ""
    fault: Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[a-z0-9_]*$")] = ""
    lost: bool = False
    clipped: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] = 0

    def __post_init__(self) -> None:
        if len(self.samples) % 2:
            raise ValueError("samples must be whole int16 counts (an even number of bytes)")


@dataclass(frozen=True, slots=True)
class EventKind:
    """One registered kind: its name, the schema of its attributes, and whether a batch
    that carries it is urgent (sent before the backlog after an outage)."""

    name: str
    attrs: type[msgspec.Struct]
    description: str
    urgent: bool = False


EVENT_KINDS: tuple[EventKind, ...] = (
    EventKind("shelf.pick", LaneChange, "Units taken from a shelf lane (settled weight change)."),
    EventKind("shelf.putback", LaneChange, "Units put back on a shelf lane (settled weight change)."),
    EventKind("shelf.restock", LaneChange, "Units added to a shelf lane by a restock (a case or more)."),
    EventKind("shelf.lane_state", LaneState, "A shelf lane became stable, settling, unfit or faulty."),
    EventKind("device.alarm", Alarm, "A local alarm raised or cleared at the gateway.", urgent=True),
    EventKind("rfid.item", ItemPresence, "A tagged item arrived in, moved between or departed from zones."),
    EventKind("rfid.zone_snapshot", ZoneSnapshot, "Tagged items present in a zone, per GTIN."),
    EventKind("condition.snapshot", WaveformSnapshot, "A raw vibration block, on demand or around an alarm."),
)
_BY_NAME = {k.name: k for k in EVENT_KINDS}
assert all(_KIND_RE.match(k.name) for k in EVENT_KINDS)


class EventError(ReasonedError):
    """An event that cannot be accepted; ``reason`` is short and machine-sortable."""


def event_kind(name: str) -> EventKind:
    kind = _BY_NAME.get(name)
    if kind is None:
        raise EventError(Reason.UNKNOWN_EVENT_KIND, f"event kind {name!r} is not registered")
    return kind


class Event(msgspec.Struct, frozen=True, array_like=True):
    """One event as a producer builds it: ``attrs`` is the registered struct of ``kind``."""

    device: str
    kind: str
    ts: int
    attrs: msgspec.Struct

    def __post_init__(self) -> None:
        expected = event_kind(self.kind).attrs
        if type(self.attrs) is not expected:
            raise EventError(
                Reason.EVENT_ATTRS, f"{self.kind} takes {expected.__name__}, not {type(self.attrs).__name__}"
            )

    @property
    def urgent(self) -> bool:
        return event_kind(self.kind).urgent


_json_dec: dict[type, msgspec.json.Decoder[msgspec.Struct]] = {}
_mp_dec: dict[type, msgspec.msgpack.Decoder[msgspec.Struct]] = {}


def _decode_attrs(attrs: type[msgspec.Struct], raw: msgspec.Raw, json: bool) -> msgspec.Struct:
    if json:
        jdec = _json_dec.get(attrs)
        if jdec is None:
            jdec = _json_dec[attrs] = msgspec.json.Decoder(attrs)
        return jdec.decode(raw)
    mdec = _mp_dec.get(attrs)
    if mdec is None:
        mdec = _mp_dec[attrs] = msgspec.msgpack.Decoder(attrs)
    return mdec.decode(raw)


def decode_event(wire: WireEvent, *, json: bool = False) -> Event:
    """The typed event of ``wire`` (whose attrs are JSON when ``json``, else MessagePack)."""
    if not valid_name(wire.device):
        raise EventError(Reason.EVENT_DEVICE, f"device name {wire.device!r} does not match {NAME_PATTERN!r}")
    kind = event_kind(wire.kind)
    try:
        attrs = _decode_attrs(kind.attrs, wire.attrs, json)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise EventError(Reason.EVENT_ATTRS, f"{wire.kind}: {exc}") from exc
    return Event(wire.device, wire.kind, wire.ts, attrs)
