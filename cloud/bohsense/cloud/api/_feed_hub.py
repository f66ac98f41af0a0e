"""The live feeds' hub: one reader of the domain events per process, fanned out to clients.

One poller per app reads ``changes`` after its cursor every ``poll_s`` (sooner when a
writing transaction of this process commits: ``BohCore.on_commit``), keeps the events of
the feed topics (``TOPICS``), finds each one's store (``BohCore.event_sites``, cached per
entity: a row's store never changes) and offers it to every subscription. However many
clients listen, the database sees one poll. The poller starts with the first client and
stops ``linger_s`` after the last one left (the service runs uvicorn without lifespan
events, so nothing else would start or stop it).

Exactly once, in order. The cursor is the event id, and ids become visible in commit
order (``boh._domain_events``), so "every event after N" is well defined. A client that
resumes after N is subscribed first (from then on every new event reaches its queue), then
replayed from the database up to the hub's cursor at that moment; the stream drops any
event whose id is not above the last one it sent, so the overlap of replay and queue is
sent once.

Back-pressure. Each subscription has a bounded queue. When it is full the client is too
slow: its queue is dropped and its stream ends with a ``Reconnect`` naming the last id it
was sent; resuming from that id loses nothing (the events are in the database), and a slow
client holds no memory meanwhile.

Scoping is the ``Selection``'s: the topics asked for, and the stores the caller may see
(``None``: every store, including events that belong to none).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..boh import AuditRecord
from ..boh._domain_events import ChangesPage
from ._common import iso_time

__all__ = [
    "HEARTBEAT",
    "TOPICS",
    "FeedConfig",
    "FeedEvent",
    "FeedHub",
    "FeedSource",
    "Heartbeat",
    "Reconnect",
    "Selection",
    "topic_of",
]

log = logging.getLogger(__name__)

#: after a commit of this process, the poller reads at once and again this much later
RECHECK_S = 0.02

#: feed topic -> the domain-event kinds it carries (by prefix)
TOPICS: Mapping[str, tuple[str, ...]] = {
    "alerts": ("alert.",),
    "work_orders": ("work_order.",),
    "stock": ("stock.", "inventory."),
    "proposals": ("replenishment_proposal.", "replenishment_plan."),
}


def topic_of(kind: str) -> str | None:
    """The feed topic of a domain-event kind (None: not carried by the feeds)."""
    for topic, prefixes in TOPICS.items():
        if kind.startswith(prefixes):
            return topic
    return None


class FeedSource(Protocol):
    """What the hub reads (``BohCore``'s methods of these names)."""

    def changes(self, *, after: int = 0, limit: int = ...) -> ChangesPage: ...

    def latest_change_id(self) -> int: ...

    def event_sites(self, events: Sequence[AuditRecord]) -> dict[tuple[str, str], str | None]: ...

    def on_commit(self, callback: Callable[[], None]) -> Callable[[], None]: ...


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """``poll_s``: how often the poller reads on; ``heartbeat_s``: a comment (SSE) or a
    heartbeat message (WebSocket) after this long without an event; ``queue_size``: events
    a client may fall behind before it is told to reconnect."""

    poll_s: float = 0.2
    heartbeat_s: float = 15.0
    queue_size: int = 1000
    #: events read per query (the poller's and a replay's)
    page: int = 500
    #: the poller runs on this long after the last client left
    linger_s: float = 30.0
    #: entities whose store is remembered
    site_cache: int = 10_000

    def __post_init__(self) -> None:
        if not (self.poll_s > 0 and self.heartbeat_s > 0 and self.linger_s >= 0):
            raise ValueError("poll_s and heartbeat_s must be above 0, linger_s at least 0")
        if self.queue_size < 1 or self.page < 1 or self.site_cache < 1:
            raise ValueError("queue_size, page and site_cache must be at least 1")


@dataclass(frozen=True, slots=True)
class FeedEvent:
    id: int
    kind: str
    topic: str
    site: str | None
    #: the event as compact JSON, encoded once for every client
    data: str


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Nothing happened for ``heartbeat_s``: the transport says it is alive."""


HEARTBEAT = Heartbeat()


@dataclass(frozen=True, slots=True)
class Reconnect:
    """The stream ends: resume with ``after`` (the last id sent). ``reason``:
    ``slow-consumer`` (its queue overflowed) or ``shutting-down``."""

    after: int
    reason: str


@dataclass(frozen=True, slots=True)
class Selection:
    """The topics a client asked for and the stores it may see (None: every store)."""

    topics: frozenset[str]
    sites: frozenset[str] | None = None

    def wants(self, event: FeedEvent) -> bool:
        if event.topic not in self.topics:
            return False
        return self.sites is None or (event.site is not None and event.site in self.sites)


class _Subscription:
    """One client's bounded queue (touched only on the event loop)."""

    def __init__(self, selection: Selection, size: int, last_id: int) -> None:
        self.selection = selection
        self.size = size
        #: the last id sent to the client (or the point it resumes after)
        self.last_id = last_id
        self.ended: str | None = None
        self._queue: collections.deque[FeedEvent] = collections.deque()
        self._ready = asyncio.Event()

    def offer(self, event: FeedEvent) -> None:
        if self.ended is not None or not self.selection.wants(event):
            return
        if len(self._queue) >= self.size:
            self.end("slow-consumer")
            return
        self._queue.append(event)
        self._ready.set()

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
            self._queue.clear()
            self._ready.set()

    async def next(self, timeout_s: float) -> FeedEvent | Heartbeat | Reconnect:
        if not self._queue and self.ended is None:
            self._ready.clear()
            try:
                async with asyncio.timeout(timeout_s):
                    await self._ready.wait()
            except TimeoutError:
                return HEARTBEAT
        if self.ended is not None:
            return Reconnect(self.last_id, self.ended)
        return self._queue.popleft()


class FeedHub:
    """See the module's docstring. Use from one event loop."""

    def __init__(self, source: FeedSource, config: FeedConfig | None = None) -> None:
        self.source = source
        self.config = config or FeedConfig()
        self.cursor = 0
        #: polls that failed (the database away): the poller retries at its interval
        self.errors = 0
        self._subs: weakref.WeakSet[_Subscription] = weakref.WeakSet()
        self._sites: collections.OrderedDict[tuple[str, str], str | None] = collections.OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self._wake = asyncio.Event()
        self._forget_commit: Callable[[], None] | None = None
        self._closed = False

    @property
    def clients(self) -> int:
        return len(self._subs)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def open(
        self, selection: Selection, after: int | None = None
    ) -> AsyncIterator[FeedEvent | Heartbeat | Reconnect]:
        """Subscribe now and return the stream: the events of ``selection`` after ``after``
        (None: from this moment on), then live ones, with heartbeats; it ends with a
        ``Reconnect`` when the client is too slow or the hub closes. Subscribing here, not
        at the stream's first step, fixes "now" before the caller sends its first byte."""
        if self._closed:
            return _ended(Reconnect(self.cursor if after is None else after, "shutting-down"))
        await self._start()
        upto = self.cursor
        sub = _Subscription(selection, self.config.queue_size, upto if after is None else after)
        self._subs.add(sub)  # weakly: a stream dropped before its first step leaves nothing behind
        return self._deliver(sub, upto)

    async def stream(
        self, selection: Selection, after: int | None = None
    ) -> AsyncIterator[FeedEvent | Heartbeat | Reconnect]:
        """``open`` and iterate, in one."""
        async for item in await self.open(selection, after):
            yield item

    async def _deliver(
        self, sub: _Subscription, upto: int
    ) -> AsyncIterator[FeedEvent | Heartbeat | Reconnect]:
        try:
            if sub.last_id < upto:
                async for event in self._replay(sub.last_id, upto):
                    if sub.ended is not None:
                        break
                    if event.id > sub.last_id and sub.selection.wants(event):
                        sub.last_id = event.id
                        yield event
            while True:
                item = await sub.next(self.config.heartbeat_s)
                if isinstance(item, FeedEvent):
                    if item.id <= sub.last_id:
                        continue  # replayed already
                    sub.last_id = item.id
                yield item
                if isinstance(item, Reconnect):
                    return
        finally:
            self._subs.discard(sub)

    async def close(self) -> None:
        """End every stream (``shutting-down``) and stop the poller; later streams end at once."""
        self._closed = True
        for sub in list(self._subs):
            sub.end("shutting-down")
        await self._stop()

    # -- the poller ----------------------------------------------------------------------

    async def _start(self) -> None:
        async with self._starting:
            if self.running:
                return
            self.cursor = await asyncio.to_thread(self.source.latest_change_id)
            loop = asyncio.get_running_loop()

            def wake() -> None:
                self._wake.set()
                # the commit event comes just before the commit is visible: look again shortly
                loop.call_later(RECHECK_S, self._wake.set)

            def committed() -> None:  # on the committing thread
                with contextlib.suppress(RuntimeError):  # the loop closed
                    loop.call_soon_threadsafe(wake)

            self._forget_commit = self.source.on_commit(committed)
            self._task = asyncio.create_task(self._run(), name="feed-poller")

    async def _stop(self) -> None:
        task, self._task = self._task, None
        if self._forget_commit is not None:
            self._forget_commit()
            self._forget_commit = None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.poll_s):
                    await self._wake.wait()
            self._wake.clear()
            if self._subs:
                idle_since = loop.time()
            elif loop.time() - idle_since >= self.config.linger_s:
                if self._forget_commit is not None:
                    self._forget_commit()
                    self._forget_commit = None
                self._task = None
                return
            try:
                await self._poll()
            except Exception as exc:  # the database away: try again at the next interval
                self.errors += 1
                log.warning("the live feeds could not read the changes: %s", type(exc).__name__)

    async def _poll(self) -> None:
        while True:
            page = await asyncio.to_thread(self.source.changes, after=self.cursor, limit=self.config.page)
            events = await self._feed_events(page.events)
            # no await between moving the cursor and offering: a client subscribing meanwhile
            # is replayed up to the old cursor and queued from it
            self.cursor = page.next_after
            for event in events:
                for sub in list(self._subs):
                    sub.offer(event)
            if len(page.events) < self.config.page:
                return

    async def _replay(self, after: int, upto: int) -> AsyncIterator[FeedEvent]:
        while after < upto:
            page = await asyncio.to_thread(self.source.changes, after=after, limit=self.config.page)
            if not page.events:
                return
            for event in await self._feed_events(page.events):
                yield event
            after = page.next_after

    async def _feed_events(self, records: Sequence[AuditRecord]) -> list[FeedEvent]:
        wanted = [(r, t) for r in records if (t := topic_of(r.kind)) is not None]
        sites: dict[tuple[str, str], str | None] = {}
        missing = []
        for r, _ in wanted:
            key = (r.entity, r.entity_id)
            if key in self._sites:
                sites[key] = self._sites[key]
                self._sites.move_to_end(key)
            elif key not in sites:
                missing.append(r)
                sites[key] = None
        if missing:
            found = await asyncio.to_thread(self.source.event_sites, missing)
            sites.update(found)
            self._sites.update(found)
            while len(self._sites) > self.config.site_cache:
                self._sites.popitem(last=False)
        return [
            FeedEvent(r.id, r.kind, topic, site, _encode(r, topic, site))
            for r, topic in wanted
            for site in (sites[(r.entity, r.entity_id)],)
        ]


async def _ended(item: Reconnect) -> AsyncIterator[FeedEvent | Heartbeat | Reconnect]:
    yield item


def _encode(r: AuditRecord, topic: str, site: str | None) -> str:
    body: dict[str, Any] = {
        "id": r.id,
        "kind": r.kind,
        "topic": topic,
        "site": site,
        "entity": r.entity,
        "entity_id": r.entity_id,
        "from_state": r.from_state,
        "to_state": r.to_state,
        "actor": r.actor,
        "at": iso_time(r.at_ns),
        "at_ns": r.at_ns,
        "detail": r.detail,
    }
    return json.dumps(body, separators=(",", ":"), default=str)
