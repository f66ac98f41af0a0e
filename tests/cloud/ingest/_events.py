"""Events for ingest tests: typed ones, and the wire form a gateway sends."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from bohsense.contracts.events import Alarm, Event, LaneChange
from bohsense.contracts.schema import Reading, ReadingBatch, WireEvent


def pick(device: str, ts: int, units: int = 1, lane: str = "lane-1") -> Event:
    return Event(device, "shelf.pick", ts, LaneChange(lane, units, 0.97, -units * 355.0, 10))


def alarm(device: str, ts: int, code: str = "door-open", active: bool = True) -> Event:
    return Event(device, "device.alarm", ts, Alarm(code, "critical", active, "door open too long"))


def wire(event: Event) -> WireEvent:
    """``event`` as it travels in a MessagePack batch."""
    return WireEvent(event.device, event.kind, event.ts, msgspec.Raw(msgspec.msgpack.encode(event.attrs)))


def raw_wire(device: str, kind: str, ts: int, attrs: Any) -> WireEvent:
    """An event as a gateway may send it: any kind, any attributes (MessagePack)."""
    return WireEvent(device, kind, ts, msgspec.Raw(msgspec.msgpack.encode(attrs)))


def event_batch(
    gateway: str, seq: int, sent: int, readings: list[Reading], events: list[WireEvent]
) -> ReadingBatch:
    return ReadingBatch(gateway=gateway, seq=seq, sent=sent, readings=readings, events=events)


def json_batch(
    gateway: str, seq: int, sent: int, readings: list[Reading], events: list[tuple[str, str, int, Any]]
) -> bytes:
    """A JSON batch (the accepted second encoding), its events' attributes JSON objects."""
    return json.dumps(
        {
            "gateway": gateway,
            "seq": seq,
            "sent": sent,
            "readings": [[r.device, r.metric, r.ts, r.value] for r in readings],
            "events": [list(e) for e in events],
        }
    ).encode()
