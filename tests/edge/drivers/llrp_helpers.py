"""What the LLRP driver tests share: a sink that keeps everything, an interpreter that
emits ``rfid.item`` "arrived" on a tag's first sight (standing in for the presence
interpreter), and the simulated readers served on real TCP, in this event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any

from bohsense.contracts.events import Event, ItemPresence
from bohsense.contracts.schema import Reading
from bohsense.edge.interpreters import Interpretation, Observation, TagSeen, Tick
from bohsense.simulators import Behaviour, LLRPReader
from bohsense.simulators._llrp_server import LLRPServer
from bohsense.simulators._tags import Scenario, TagWorld
from tests.simulators.llrp_support import scenario


class ListSink:
    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.events: list[Event] = []

    def put(self, reading: Reading) -> None:
        self.readings.append(reading)

    def put_event(self, event: Event) -> None:
        self.events.append(event)

    def health(self, metric: str) -> list[float]:
        return [r.value for r in self.readings if r.metric == metric]


class ArrivalInterpreter:
    """``rfid.item`` "arrived" the first time an EPC is seen; keeps every observation."""

    def __init__(self, reader: str, zones: Mapping[int, str], options: Mapping[str, Any]) -> None:
        self.reader = reader
        self.zones = dict(zones)
        self.options = dict(options)
        self.seen: dict[bytes, TagSeen] = {}
        self.tags: list[TagSeen] = []
        self.ticks: list[Tick] = []
        self._counters: Counter[str] = Counter()

    def observe(self, observation: Observation) -> Interpretation:
        out = Interpretation()
        if isinstance(observation, Tick):
            self.ticks.append(observation)
            return out
        if not isinstance(observation, TagSeen):
            self._counters["not_a_reader_observation"] += 1
            return out
        self.tags.append(observation)
        if observation.epc in self.seen:
            return out
        self.seen[observation.epc] = observation
        self._counters["arrivals"] += 1
        zone = self.zones.get(observation.antenna, "unzoned")
        out.events.append(
            Event(
                device=self.reader,
                kind="rfid.item",
                ts=observation.last_seen,
                attrs=ItemPresence(
                    epc=observation.epc.hex().upper(),
                    transition="arrived",
                    zone=zone,
                    reader=self.reader,
                    antenna=observation.antenna,
                    rssi_dbm=observation.rssi_dbm if observation.rssi_dbm is not None else -128.0,
                    reads=observation.count,
                ),
            )
        )
        return out

    def counters(self) -> Mapping[str, int]:
        return self._counters


@contextlib.asynccontextmanager
async def serving(**behaviour: Any) -> AsyncIterator[tuple[LLRPReader, int, TagWorld]]:
    """Reader r1 of the test scenario (two antennas: backroom, floor) on a free port."""
    world = TagWorld(Scenario.from_dict(scenario()))
    reader = LLRPReader(world.readers["r1"], world, behaviour=Behaviour(**behaviour), seed=3)
    server = LLRPServer([(reader, 0)])
    await server.start()
    try:
        yield reader, server.ports["r1"], world
    finally:
        await server.close()


def in_view(world: TagWorld) -> set[bytes]:
    return world.visible("r1", 1) | world.visible("r1", 2)


@contextlib.asynccontextmanager
async def running(driver: Any, sink: ListSink) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(driver.run(sink))
    try:
        yield task
    finally:
        task.cancel()
        # a driver that swallowed the cancellation would hang the test: fail it instead
        done, _ = await asyncio.wait({task}, timeout=10)
        assert done, "the driver did not stop within 10 s of being cancelled"
        with contextlib.suppress(asyncio.CancelledError):
            await task
