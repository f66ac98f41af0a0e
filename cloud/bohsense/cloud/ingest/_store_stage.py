"""The store stage: a chunk's new batches into the time-series store, retried while it is down.

Only the first copy of each ``(gateway, seq)`` that the BOH core has not settled, and that
is not written already and waiting to be applied (``unapplied``), is written: a replay, even
with other content, then changes the time series no more than it changes the BOH. Every
batch still goes on to the core, which counts the duplicates. A batch the store refuses
(``StorageRejected``) is quarantined as ``storage-rejected`` and goes on emptied, so that its
seq is still applied.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import msgspec

from bohsense.cloud.ingest._commit import Committer
from bohsense.cloud.ingest._pipeline import Chunk
from bohsense.cloud.ingest._stats import IngestStats
from bohsense.cloud.ports import QuarantineItem
from bohsense.cloud.tsdb import StorageRejected, StorageUnavailable, TimeSeriesStore
from bohsense.contracts.backoff import Backoff
from bohsense.contracts.codec import encode
from bohsense.contracts.schema import ReadingBatch
from bohsense.contracts.topics import readings_topic

__all__ = ["StoreStage"]

log = logging.getLogger(__name__)


class StoreStage:
    def __init__(self, store: TimeSeriesStore, committer: Committer, stats: IngestStats) -> None:
        self.store = store
        self.committer = committer
        self.stats = stats
        #: (gateway, seq) of batches written to the store whose chunk is not yet applied
        self.unapplied: set[tuple[str, int]] = set()

    async def run(self, queue: asyncio.Queue[Chunk | None], stored: asyncio.Queue[Chunk | None]) -> None:
        """Write each chunk's new batches, in order, and pass it on; None ends the stage."""
        while (chunk := await queue.get()) is not None:
            if chunk.batches:
                chunk.batches, rejected = await self.write(chunk.batches)
                chunk.quarantine.extend(rejected)
            await stored.put(chunk)
        await stored.put(None)

    def applied(self, batches: Sequence[ReadingBatch]) -> None:
        """The chunk of ``batches`` is committed: its seqs are the core's to answer for now."""
        self.unapplied.difference_update((b.gateway, b.seq) for b in batches)

    async def write(self, batches: list[ReadingBatch]) -> tuple[list[ReadingBatch], list[QuarantineItem]]:
        """Write the readings of the new batches; return the batches to apply (all of them,
        those the store refused emptied) and the quarantine items for the refused ones."""
        rejected: list[QuarantineItem] = []
        write = await self._new_batches(batches)
        if not write:
            return batches, rejected
        try:
            self.stats.readings_stored += await self._retry(self._writer(write))
            return batches, rejected
        except StorageRejected as exc:
            if len(write) == 1:
                emptied = _refused(write[0], exc, rejected)
                return [emptied if b is write[0] else b for b in batches], rejected
        new = {id(b) for b in write}
        kept: list[ReadingBatch] = []
        for batch in batches:  # find the batch the store refuses; keep the others
            if id(batch) not in new:
                kept.append(batch)
                continue
            try:
                self.stats.readings_stored += await self._retry(self._writer([batch]))
                kept.append(batch)
            except StorageRejected as exc:
                kept.append(_refused(batch, exc, rejected))
        return kept, rejected

    async def _new_batches(self, batches: list[ReadingBatch]) -> list[ReadingBatch]:
        pending: set[tuple[str, int]] = self.unapplied
        first: dict[tuple[str, int], ReadingBatch] = {}
        for b in batches:
            key = (b.gateway, b.seq)
            if key not in pending and key not in first:
                first[key] = b
        if not first:
            return []
        settled = await self.committer.settled(list(first))
        write = [b for key, b in first.items() if key not in settled]
        pending.update((b.gateway, b.seq) for b in write)
        return write

    def _writer(self, batches: list[ReadingBatch]) -> Callable[[], Awaitable[int]]:
        return lambda: self.store.write(batches)

    async def _retry(self, call: Callable[[], Awaitable[int]]) -> int:
        stats = self.stats
        backoff = Backoff(self.committer.config.retry_initial_s, self.committer.config.retry_max_s)
        while True:
            try:
                written = await call()
            except StorageUnavailable as exc:
                stats.storage_retries += 1
                if not stats.storage_down or stats.storage_retries % 20 == 0:
                    log.warning("time-series store unavailable; holding messages: %s", exc)
                stats.storage_down = True
                await self.committer.pause(backoff)
                continue
            if stats.storage_down:
                log.info("time-series store is back")
                stats.storage_down = False
            return written


def _refused(batch: ReadingBatch, exc: StorageRejected, rejected: list[QuarantineItem]) -> ReadingBatch:
    rejected.append(
        QuarantineItem(
            readings_topic(batch.gateway),
            encode(batch),
            "storage-rejected",
            f"batch seq {batch.seq}: the time-series store refused it: {exc}",
            time.time_ns(),
            batch.gateway,
        )
    )
    return msgspec.structs.replace(batch, readings=[])
