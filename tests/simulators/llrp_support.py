"""What the LLRP reader tests share: a fake clock, a small scenario, and the client's end
of the connection in memory (every byte the reader sends goes through bohsense's own
decoder, which must find no fault in it)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from bohsense.llrp import (
    AISpec,
    AISpecStopTrigger,
    InventoryParameterSpec,
    LLRPError,
    Message,
    MessageDecoder,
    ROBoundarySpec,
    ROReportSpec,
    ROSpec,
    ROSpecStartTrigger,
    ROSpecStopTrigger,
    TagReportContentSelector,
    encode_message,
)
from bohsense.simulators import Behaviour, Clock, LLRPReader
from bohsense.simulators._tags import Scenario, TagWorld

WALL0 = 1_790_000_000 * 10**9

SCENARIO: dict[str, Any] = {
    "seed": 3,
    "door_zone": "dock",
    "door_dwell_s": 2.0,
    "rf": {"noise_db": 1.0, "miss_rate": 0.0},
    "zones": [
        {"name": "backroom", "x": 0.0, "y": 0.0, "radius": 1.0},
        {"name": "floor", "x": 50.0, "y": 0.0, "radius": 1.0},
        {"name": "dock", "x": 0.0, "y": 50.0, "radius": 0.5},
    ],
    "readers": [
        {"id": "r1", "antennas": [{"id": 1, "x": 0.0, "y": 0.0}, {"id": 2, "x": 50.0, "y": 0.0}]},
        {"id": "door", "antennas": [{"id": 1, "x": 0.0, "y": 50.0}]},
    ],
    "stock": [
        {
            "gtin": "80614141123458",
            "company_prefix_digits": 7,
            "zone": "backroom",
            "count": 6,
            "first_serial": 6789,
        },
        {
            "gtin": "04006381333931",
            "company_prefix_digits": 7,
            "zone": "floor",
            "count": 3,
            "first_serial": 1,
        },
    ],
}


def scenario(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SCENARIO)
    doc.update(changes)
    return doc


class FakeClock(Clock):
    def __init__(self) -> None:
        self.mono = 1000.0

    def monotonic(self) -> float:
        return self.mono

    def wall_ns(self) -> int:
        return WALL0 + int((self.mono - 1000.0) * 1e9)


def world(doc: dict[str, Any] | None = None, clock: FakeClock | None = None) -> TagWorld:
    return TagWorld(Scenario.from_dict(doc or SCENARIO), clock=clock or FakeClock())


def reader(w: TagWorld, reader_id: str = "r1", **behaviour: Any) -> LLRPReader:
    spec = w.readers[reader_id]
    r = LLRPReader(spec, w, behaviour=Behaviour(**behaviour), seed=w.scenario.seed)
    r.boot()
    return r


class Client:
    """The client's end of one connection, in memory."""

    def __init__(self, r: LLRPReader, clock: FakeClock) -> None:
        self.reader = r
        self.clock = clock
        self.decoder = MessageDecoder()
        self.next_id = 1000
        self.got: list[Message] = []
        assert r.connect()

    def send(self, message: Message) -> int:
        self.next_id += 1
        mid = message.message_id or self.next_id
        self.reader.receive(encode_message(dataclasses.replace(message, message_id=mid)))
        return mid

    def send_bytes(self, data: bytes) -> None:
        self.reader.receive(data)

    def read(self) -> list[Message]:
        data = self.reader.data_to_send()
        self.reader.bytes_sent(len(data))
        out = self.decoder.feed(data)
        errors = [o for o in out if isinstance(o, LLRPError)]
        assert errors == [], [str(e) for e in errors]  # the reader only sends valid LLRP
        new = [o for o in out if not isinstance(o, LLRPError)]
        self.got += new
        return new

    def request(self, message: Message) -> Message:
        """Send and return the one response (with the request's id)."""
        mid = self.send(message)
        replies = [m for m in self.read() if m.message_id == mid]
        assert len(replies) == 1, replies
        return replies[0]

    def run(self, seconds: float, step: float = 0.05) -> list[Message]:
        """Let time pass, advancing the reader, and return what it sent."""
        out: list[Message] = []
        end = self.clock.mono + seconds
        while self.clock.mono < end - 1e-9:
            self.clock.mono = min(end, self.clock.mono + step)
            self.reader.advance()
            out += self.read()
        return out


def rospec(
    ro_spec_id: int = 1,
    *,
    start: int = 1,
    stop: int = 0,
    stop_ms: int = 0,
    ai_stop: AISpecStopTrigger | None = None,
    antennas: tuple[int, ...] = (0,),
    trigger: int = 1,
    n: int = 0,
    selector: TagReportContentSelector | None = None,
    specs: int = 1,
    periodic: Any = None,
) -> ROSpec:
    return ROSpec(
        ro_spec_id=ro_spec_id,
        boundary=ROBoundarySpec(
            start_trigger=ROSpecStartTrigger(trigger_type=start, periodic=periodic),
            stop_trigger=ROSpecStopTrigger(trigger_type=stop, duration_trigger_value=stop_ms),
        ),
        specs=tuple(
            AISpec(
                antenna_ids=antennas,
                stop_trigger=ai_stop or AISpecStopTrigger(trigger_type=0),
                inventory_parameter_specs=(InventoryParameterSpec(spec_id=7),),
            )
            for _ in range(specs)
        ),
        report_spec=ROReportSpec(
            trigger=trigger,
            n=n,
            content_selector=selector
            or TagReportContentSelector(
                enable_ro_spec_id=True,
                enable_antenna_id=True,
                enable_peak_rssi=True,
                enable_first_seen_timestamp=True,
                enable_last_seen_timestamp=True,
                enable_tag_seen_count=True,
            ),
        ),
    )
