"""The collect stage: messages from the inbox, checked, into micro-batches (``Chunk``).

A chunk closes at ``batch_max_readings`` readings, ``batch_max_messages`` messages or
``batch_max_ms`` after its first message, whichever comes first, and goes to the store
stage through a queue of one (the backpressure: while the stages after it are busy, the
inbox grows and the broker holds the rest). Every message of a chunk is acknowledged only
once the chunk is committed (``ApplyStage``); ``unacked_since`` keeps the wall time of the
first message of every chunk not yet acknowledged, oldest first, for ``/health``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bohsense.cloud.ingest._config import IngestConfig
from bohsense.cloud.ingest._stats import IngestStats
from bohsense.cloud.ingest._validate import Checked, check_message
from bohsense.cloud.ports import BatchEvent, QuarantineItem
from bohsense.contracts.schema import CommandResult, GatewayStatus, ReadingBatch

__all__ = ["Chunk", "Collector", "Inbox"]

log = logging.getLogger(__name__)

Inbox = collections.deque[tuple[str, bytes, int, int]]  # topic, payload, mid, qos


@dataclass(slots=True)
class Chunk:
    batches: list[ReadingBatch] = field(default_factory=list)
    statuses: list[GatewayStatus] = field(default_factory=list)
    results: list[CommandResult] = field(default_factory=list)
    quarantine: list[QuarantineItem] = field(default_factory=list)
    #: decoded events by (gateway, seq): the first copy of a seq wins, as in the core
    events: dict[tuple[str, int], tuple[BatchEvent, ...]] = field(default_factory=dict)
    acks: list[tuple[int, int]] = field(default_factory=list)  # (mid, qos) in arrival order
    readings: int = 0
    started: float = 0.0  # loop time of the first message
    parts: int = 1  # chunks merged into this one (group commit)

    def __bool__(self) -> bool:
        return bool(self.acks)

    def merge(self, later: Chunk) -> None:
        self.batches.extend(later.batches)
        self.statuses.extend(later.statuses)
        self.results.extend(later.results)
        self.quarantine.extend(later.quarantine)
        for key, events in later.events.items():
            self.events.setdefault(key, events)
        self.acks.extend(later.acks)
        self.readings += later.readings
        self.parts += later.parts


class Collector:
    """Turns the inbox into chunks until stopped; ``check_connected`` raises when the link is gone."""

    def __init__(
        self,
        config: IngestConfig,
        stats: IngestStats,
        unacked_since: collections.deque[int],
        check_connected: Callable[[], None],
    ) -> None:
        self.config = config
        self.stats = stats
        self.unacked_since = unacked_since
        self.check_connected = check_connected

    async def run(
        self, inbox: Inbox, wake: asyncio.Event, queue: asyncio.Queue[Chunk | None], stop: asyncio.Event
    ) -> None:
        loop = asyncio.get_running_loop()
        cfg, stats = self.config, self.stats
        max_readings, max_s, max_msgs = (
            cfg.batch_max_readings,
            cfg.batch_max_ms / 1000,
            cfg.batch_max_messages,
        )
        check_connected = self.check_connected
        chunk = Chunk()
        while True:
            check_connected()
            if stop.is_set():
                break  # what is left in the inbox is not acknowledged: the broker sends it again
            if not inbox:
                wake.clear()
                if chunk:
                    remaining = chunk.started + max_s - loop.time()
                    if remaining > 0:
                        try:
                            async with asyncio.timeout(remaining):
                                await wake.wait()
                        except TimeoutError:
                            pass
                else:
                    await wake.wait()
                check_connected()
            while inbox and chunk.readings < max_readings and len(chunk.acks) < max_msgs:
                topic, payload, mid, qos = inbox.popleft()
                if not chunk:
                    chunk.started = loop.time()
                    self.unacked_since.append(time.time_ns())
                    stats.oldest_unacked_ns = self.unacked_since[0]
                stats.messages += 1
                stats.pending_messages += 1
                chunk.acks.append((mid, qos))
                self._add(chunk, topic, payload)
            if chunk and (
                chunk.readings >= max_readings
                or len(chunk.acks) >= max_msgs
                or loop.time() >= chunk.started + max_s
                or stop.is_set()
            ):
                await queue.put(chunk)
                chunk = Chunk()
        if chunk:
            await queue.put(chunk)
        await queue.put(None)

    def _add(self, chunk: Chunk, topic: str, payload: bytes) -> None:
        stats = self.stats
        now = time.time_ns()
        try:
            checked = check_message(topic, payload, now, self.config.max_future_ns)
        except Exception as exc:  # a bug must not stop ingest: keep the payload
            log.exception("checking a message failed")
            checked = Checked(quarantine=[QuarantineItem(topic, payload, "internal", repr(exc), now)])
        if checked.settled:
            stats.batches_rejected_settled += 1
        if checked.batch is not None:
            chunk.batches.append(checked.batch)
            if checked.events:
                chunk.events.setdefault((checked.batch.gateway, checked.batch.seq), checked.events)
                stats.events += len(checked.events)
            chunk.readings += len(checked.batch.readings)
            stats.batches += 1
        elif checked.status is not None:
            chunk.statuses.append(checked.status)
        elif checked.result is not None:
            chunk.results.append(checked.result)
        chunk.quarantine.extend(checked.quarantine)
