"""Handing one chunk to the BOH core: retry while the core cannot take it, isolate what its data breaks.

Two kinds of failure, told apart by the exception (``transient``):

- the core is unavailable (``ports.CoreUnavailable``: unreachable, locked, out of resources,
  refusing a privilege; or an ``OSError`` / ``TimeoutError`` from a core of another kind):
  the call is retried with backoff for as long as it lasts, nothing is quarantined, the
  messages stay unacknowledged;
- anything else may be caused by the data. After ``ATTEMPTS_BEFORE_ISOLATING`` such
  failures the messages are tried one by one, and each that fails alone is quarantined as
  ``apply-failed`` with the error. A batch's seq is still recorded (an empty copy of it is
  applied) so that its gateway's watermark moves on; a status or command result is simply
  set aside. A transient failure met while isolating goes back to retrying.

A stop (``stop`` set) ends any retry at once with ``Stopping``: what was not committed
stays unacknowledged at the broker and is delivered again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec

from bohsense.cloud.errors import CloudError
from bohsense.cloud.ingest._config import IngestConfig
from bohsense.cloud.ingest._rate import RateLimiter
from bohsense.cloud.ingest._stats import IngestStats
from bohsense.cloud.ports import ApplyOutcome, BatchApplier, BatchEvents, CoreUnavailable, QuarantineItem
from bohsense.contracts.backoff import Backoff
from bohsense.contracts.codec import encode
from bohsense.contracts.schema import ReadingBatch
from bohsense.contracts.topics import readings_topic

__all__ = ["ATTEMPTS_BEFORE_ISOLATING", "Committer", "Stopping", "transient"]

log = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M", bound=msgspec.Struct)

#: failed attempts of one commit's call, not caused by an unavailable core, before isolating
ATTEMPTS_BEFORE_ISOLATING = 3


class Stopping(CloudError):
    """The worker was told to stop while a call was being retried."""


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` says the core cannot take the call now (retry) rather than that the data is bad."""
    return isinstance(exc, CoreUnavailable | OSError | TimeoutError)


class Committer:
    """The BOH-core side of one worker: ``apply`` batches, ``record`` small messages, ``quarantine``."""

    def __init__(
        self, applier: BatchApplier, config: IngestConfig, stats: IngestStats, stop: asyncio.Event
    ) -> None:
        self.applier = applier
        self.config = config
        self.stats = stats
        self.stop = stop
        #: raises when the broker connection is gone (set by the worker for each session)
        self.check_connected: Callable[[], None] = lambda: None
        self._rate = RateLimiter(config.quarantine_rate_per_s, config.quarantine_burst)

    # -- retrying --------------------------------------------------------------------------
    def _failed(self, exc: BaseException, what: str) -> None:
        stats = self.stats
        stats.apply_retries += 1
        if not stats.apply_failing_since_ns:
            stats.apply_failing_since_ns = time.time_ns()
        kind = "core unavailable" if transient(exc) else "failed"
        log.warning("%s: %s (%s); retrying, messages stay unacknowledged", what, kind, repr(exc)[:300])

    def _succeeded(self) -> None:
        self.stats.apply_failing_since_ns = 0

    async def pause(self, backoff: Backoff) -> None:
        self.check_connected()
        if self.stop.is_set():
            raise Stopping
        try:
            async with asyncio.timeout(backoff.next()):
                await self.stop.wait()
        except TimeoutError:
            return
        raise Stopping

    def _backoff(self) -> Backoff:
        return Backoff(self.config.retry_initial_s, self.config.retry_max_s)

    async def retry(self, call: Callable[[], T], what: str) -> T:
        """Run ``call`` in a thread until it succeeds (no isolation: for calls without data of their own)."""
        backoff = self._backoff()
        while True:
            try:
                result = await asyncio.to_thread(call)
            except Exception as exc:
                self._failed(exc, what)
            else:
                self._succeeded()
                return result
            await self.pause(backoff)

    async def quarantine(self, items: Sequence[QuarantineItem]) -> None:
        """Keep what each gateway's rate allows of ``items`` (``apply-failed`` always); count the rest."""
        stats = self.stats
        now = time.monotonic()
        kept: list[QuarantineItem] = []
        for item in items:
            if item.reason == "apply-failed" or self._rate.allow(item.gateway, now):
                kept.append(item)
                continue
            if not stats.quarantine_dropped_by_reason[item.reason]:
                log.warning("rejects over their gateway's quarantine rate are counted, not kept",
                            extra={"gateway": item.gateway, "reason": item.reason})  # fmt: skip
            stats.quarantine_dropped += 1
            stats.quarantine_dropped_by_reason[item.reason] += 1
        if not kept:
            return
        stored = await self._store_quarantine(kept)
        stats.quarantine_over_quota += len(kept) - stored
        stats.quarantined += len(kept)
        for item in kept:
            stats.quarantined_by_reason[item.reason] += 1
            log.warning(
                "quarantined", extra={"reason": item.reason, "detail": item.detail[:300], "topic": item.topic}
            )

    async def settled(self, keys: list[tuple[str, int]]) -> set[tuple[str, int]]:
        """``applier.settled(keys)``, retried while the core is unavailable. If it fails
        otherwise (a bug), nothing is taken as settled: the core still drops duplicates,
        only the time series is then written as before the check."""
        backoff = self._backoff()
        while True:
            try:
                found = await asyncio.to_thread(self.applier.settled, keys)
            except Exception as exc:
                self._failed(exc, "checking for duplicates")
                if not transient(exc):
                    log.exception("checking for duplicates failed; writing the batches as new")
                    self._succeeded()
                    return set()
            else:
                self._succeeded()
                return found
            await self.pause(backoff)

    async def _store_quarantine(self, items: list[QuarantineItem]) -> int:
        """``applier.quarantine``, retried while the core is unavailable; given up (logged,
        counted as ``quarantine_failed``) after a few failures of another kind, so that a
        reject the database cannot hold never stalls the pipeline."""
        backoff, failures = self._backoff(), 0
        while True:
            try:
                stored = await asyncio.to_thread(self.applier.quarantine, items)
            except Exception as exc:
                failures += 1
                self._failed(exc, "quarantining")
                if failures >= ATTEMPTS_BEFORE_ISOLATING and not transient(exc):
                    log.exception("rejects could not be quarantined; they are counted and dropped")
                    self.stats.quarantine_failed += len(items)
                    self._succeeded()
                    return len(items)
            else:
                self._succeeded()
                return stored
            await self.pause(backoff)

    # -- batches ---------------------------------------------------------------------------
    async def apply(self, batches: list[ReadingBatch], events: BatchEvents | None = None) -> ApplyOutcome:
        """Apply ``batches`` (with their decoded ``events``) in one call; isolate a poison
        batch after a few failures of its data. A batch whose event handler fails is such a
        batch: it is quarantined whole, and its seq recorded without its readings and events."""
        backoff, failures = self._backoff(), 0
        while True:
            try:
                outcome = await asyncio.to_thread(self._apply_call, batches, events)
            except Exception as exc:
                failures += 1
                self._failed(exc, "applying batches")
                if failures >= ATTEMPTS_BEFORE_ISOLATING and not transient(exc):
                    isolated = await self._isolate(batches, events or {})
                    if isolated is not None:
                        self._succeeded()
                        return isolated
            else:
                self._succeeded()
                return outcome
            await self.pause(backoff)

    def _apply_call(self, batches: list[ReadingBatch], events: BatchEvents | None) -> ApplyOutcome:
        if events:
            return self.applier.apply_batches(batches, events)
        return self.applier.apply_batches(batches)  # an applier that predates events takes this

    async def _isolate(self, batches: list[ReadingBatch], events: BatchEvents) -> ApplyOutcome | None:
        """Apply the batches one by one; quarantine each that fails for its data. None when
        the core turns out to be unavailable (the caller retries the whole call)."""
        apply = self._apply_call
        outcomes: list[ApplyOutcome] = []
        poison: list[QuarantineItem] = []
        for b in batches:
            key = (b.gateway, b.seq)
            own = {key: events[key]} if key in events else None
            try:
                outcomes.append(await asyncio.to_thread(apply, [b], own))
                continue
            except Exception as exc:
                if transient(exc):
                    return None
                error = exc
            empty = msgspec.structs.replace(b, readings=[], events=[], floor=0)
            note = "its seq is recorded"
            try:
                outcomes.append(await asyncio.to_thread(apply, [empty], None))
            except Exception as exc:
                if transient(exc):
                    return None
                note = f"its seq could not be recorded either ({exc!r:.200})"
            log.error(
                "batch quarantined: the BOH core fails on its data",
                extra={"gateway": b.gateway, "seq": b.seq, "error": repr(error)[:300], "note": note},
            )
            poison.append(
                QuarantineItem(
                    readings_topic(b.gateway),
                    encode(b),
                    "apply-failed",
                    f"batch seq {b.seq}: {error!r:.900}; {note}",
                    time.time_ns(),
                    b.gateway,
                )
            )
        await self.quarantine(poison)
        return _merge(outcomes)

    # -- statuses and command results -------------------------------------------------------
    async def record(self, items: list[M], record_one: Callable[[M], None], topic: Callable[[M], str]) -> int:
        """Record small messages (each its own transaction; recording one again changes nothing).
        Return how many were recorded; those the core fails on for their data are quarantined."""
        what = f"recording {type(items[0]).__name__}"
        backoff, failures = self._backoff(), 0
        while True:
            try:
                await asyncio.to_thread(_each, record_one, items)
            except Exception as exc:
                failures += 1
                self._failed(exc, what)
                if failures >= ATTEMPTS_BEFORE_ISOLATING and not transient(exc):
                    recorded = await self._record_each(items, record_one, topic)
                    if recorded is not None:
                        self._succeeded()
                        return recorded
            else:
                self._succeeded()
                return len(items)
            await self.pause(backoff)

    async def _record_each(
        self, items: list[M], record_one: Callable[[M], None], topic: Callable[[M], str]
    ) -> int | None:
        poison: list[QuarantineItem] = []
        for item in items:
            try:
                await asyncio.to_thread(record_one, item)
            except Exception as exc:
                if transient(exc):
                    return None
                gateway: str = getattr(item, "gateway", "")
                poison.append(
                    QuarantineItem(
                        topic(item), encode(item), "apply-failed", f"{exc!r:.1000}", time.time_ns(), gateway
                    )
                )
        await self.quarantine(poison)
        return len(items) - len(poison)


def _each(record_one: Callable[[Any], None], items: Sequence[Any]) -> None:
    for item in items:
        record_one(item)


def _merge(outcomes: list[ApplyOutcome]) -> ApplyOutcome:
    marks: dict[str, int] = {}
    for o in outcomes:
        for gw, mark in o.watermarks.items():
            marks[gw] = max(mark, marks.get(gw, mark))
    return ApplyOutcome(
        applied=sum(o.applied for o in outcomes),
        duplicates=sum(o.duplicates for o in outcomes),
        readings_applied=sum(o.readings_applied for o in outcomes),
        events_applied=sum(o.events_applied for o in outcomes),
        watermarks=marks,
    )
