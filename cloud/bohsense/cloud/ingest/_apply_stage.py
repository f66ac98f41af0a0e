"""The apply stage: stored chunks into the BOH core, then acknowledged, in arrival order.

Chunks that queued up while the previous commit ran are merged into one (group commit),
so a slow database commits less often instead of falling behind. For each (merged)
chunk: quarantine its rejects, apply its batches with their decoded events (``Committer``:
retried while the core is unavailable, a poison batch isolated), record statuses and
command results, then PUBACK every message of it and publish one retained ``CloudAck``
per gateway.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable

from bohsense.cloud.ingest._commit import Committer
from bohsense.cloud.ingest._config import IngestConfig
from bohsense.cloud.ingest._link import MqttLink, PublishRefused
from bohsense.cloud.ingest._pipeline import Chunk
from bohsense.cloud.ingest._stats import IngestStats
from bohsense.cloud.ingest._store_stage import StoreStage
from bohsense.cloud.ports import ApplyOutcome, StatusRecorder
from bohsense.contracts.codec import encode
from bohsense.contracts.schema import CloudAck
from bohsense.contracts.topics import ack_topic, result_topic, status_topic

__all__ = ["ApplyStage"]

log = logging.getLogger(__name__)


class ApplyStage:
    def __init__(
        self,
        committer: Committer,
        storer: StoreStage,
        recorder: StatusRecorder | None,
        config: IngestConfig,
        stats: IngestStats,
        unacked_since: collections.deque[int],
    ) -> None:
        self.committer = committer
        self.storer = storer
        self.recorder = recorder
        self.config = config
        self.stats = stats
        self.unacked_since = unacked_since
        #: run (in a thread) after a commit that applied batches: the alert notices' publisher
        self.after_commit: Callable[[], object] | None = None

    async def run(self, link: MqttLink, stored: asyncio.Queue[Chunk | None]) -> None:
        """Apply stored chunks in order until the store stage sends None."""
        done = False
        while not done:
            chunk = await stored.get()
            if chunk is None:
                return
            while not stored.empty():
                more = stored.get_nowait()
                if more is None:
                    done = True
                    break
                chunk.merge(more)
            await self.commit(link, chunk)

    async def commit(self, link: MqttLink, chunk: Chunk) -> None:
        """Quarantine, apply, acknowledge one chunk whose readings are stored already."""
        stats, committer = self.stats, self.committer
        batches = chunk.batches
        await committer.quarantine(chunk.quarantine)
        outcome = ApplyOutcome()
        if batches:
            outcome = await committer.apply(batches, chunk.events)
            stats.batches_applied += outcome.applied
            stats.readings_applied += outcome.readings_applied
            stats.events_applied += outcome.events_applied
            stats.duplicates += outcome.duplicates
        if chunk.statuses and self.recorder is not None:
            stats.status_messages += await committer.record(
                chunk.statuses, self.recorder.record_status, lambda m: status_topic(m.gateway)
            )
        record_result = getattr(self.recorder, "record_command_result", None)
        if chunk.results and record_result is not None:
            stats.command_results += await committer.record(
                chunk.results, record_result, lambda m: result_topic(m.gateway)
            )
        self.storer.applied(batches)
        link.check_connected()
        link.ack(chunk.acks)
        stats.mqtt_acks += len(chunk.acks)
        stats.pending_messages -= len(chunk.acks)
        for _ in range(chunk.parts):
            self.unacked_since.popleft()
        stats.oldest_unacked_ns = self.unacked_since[0] if self.unacked_since else 0
        stats.commits += 1
        loop_now = asyncio.get_running_loop().time()
        stats.lag_ms = (loop_now - chunk.started) * 1000
        if batches:
            now = time.time_ns()  # a ``sent`` from the future (a wrong clock, a forgery) says nothing
            newest = max((b.sent for b in batches if b.sent <= now), default=None)
            if newest is not None:
                stats.event_lag_ms = (now - newest) / 1e6
        if self.config.publish_acks and batches:
            self._publish_acks(link, {b.gateway for b in batches}, outcome)
        if self.after_commit is not None and outcome.applied:
            try:
                await asyncio.to_thread(self.after_commit)
            except Exception:  # the notices wait in the outbox for the next round
                log.exception("alert notices not published")

    def _publish_acks(self, link: MqttLink, gateways: set[str], outcome: ApplyOutcome) -> None:
        """Queue one retained CloudAck per gateway; paho delivers it (QoS 1) without us waiting.

        Waiting for each PUBACK would stall the pipeline for a round trip per commit, and
        an ack that is lost with the connection is superseded by the next one.
        """
        now = time.time_ns()
        for gw in sorted(gateways):
            upto = outcome.watermarks.get(gw)
            if upto is None:
                continue
            try:
                link.publish(ack_topic(gw), encode(CloudAck(gateway=gw, upto=upto, ts=now)), retain=True)
            except PublishRefused as exc:
                log.warning("CloudAck for %s not queued: %s", gw, exc)
                continue
            self.stats.acks_published += 1
