"""The feeds' hub against a fake source (no database, no server): one poller for every
client, the replay and the live queue overlapping without a duplicate, a heartbeat when
quiet, the end of a slow client's stream naming its last id, and the end of every stream
when the hub closes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from bohsense.cloud.api._feed_hub import FeedConfig, FeedEvent, FeedHub, Heartbeat, Reconnect, Selection
from bohsense.cloud.boh import AuditRecord
from bohsense.cloud.boh._domain_events import ChangesPage

ALL = Selection(frozenset({"alerts", "work_orders", "stock", "proposals"}))


class FakeSource:
    def __init__(self) -> None:
        self.events: list[AuditRecord] = []
        self.polls = 0
        self.site_lookups = 0
        self.wake: Callable[[], None] | None = None

    def add(self, kind: str, entity: str, entity_id: str, site: str | None = None) -> int:
        n = len(self.events) + 1
        detail = {"site": site} if site else {}
        self.events.append(AuditRecord(n, entity, entity_id, None, "x", "t", n, detail, kind))
        if self.wake is not None:
            self.wake()
        return n

    def changes(self, *, after: int = 0, limit: int = 100) -> ChangesPage:
        self.polls += 1
        page = [e for e in self.events if e.id > after][:limit]
        return ChangesPage(page, page[-1].id if page else after)

    def latest_change_id(self) -> int:
        return len(self.events)

    def event_sites(self, events: Sequence[AuditRecord]) -> dict[tuple[str, str], str | None]:
        self.site_lookups += 1
        return {(e.entity, e.entity_id): e.detail.get("site") for e in events}

    def on_commit(self, callback: Callable[[], None]) -> Callable[[], None]:
        self.wake = callback

        def forget() -> None:
            self.wake = None

        return forget


async def _take(stream: object, n: int) -> list[FeedEvent | Heartbeat | Reconnect]:
    out: list[FeedEvent | Heartbeat | Reconnect] = []
    async for item in stream:  # type: ignore[attr-defined]
        out.append(item)
        if len(out) == n:
            break
    return out


def test_replay_then_live_once_each_and_one_poller_for_all() -> None:
    async def main() -> None:
        src = FakeSource()
        for n in range(5):
            src.add("stock.low", "stock_location", f"s1/sku/{n}", site="s1")
        src.add("catalog.site.created", "site", "s1")  # not a feed topic
        hub = FeedHub(src, FeedConfig(poll_s=0.01, heartbeat_s=5))
        clients = [hub.stream(ALL, after=2) for _ in range(3)]
        first = asyncio.create_task(_take(clients[0], 4))
        await asyncio.sleep(0.05)
        src.add("alert.opened", "alert", "1", site=None)
        got = await asyncio.wait_for(first, 2)
        assert [g.id for g in got if isinstance(g, FeedEvent)] == [3, 4, 5, 7]
        others = await asyncio.wait_for(asyncio.gather(*(_take(c, 4) for c in clients[1:])), 2)
        for items in others:
            assert [i.id for i in items if isinstance(i, FeedEvent)] == [3, 4, 5, 7]
        polls = src.polls
        await asyncio.sleep(0.1)
        assert src.polls - polls < 20  # one poller at 10 ms, not one per client
        await hub.close()

    asyncio.run(main())


def test_a_quiet_feed_beats_and_a_slow_one_is_ended_with_its_last_id() -> None:
    async def main() -> None:
        src = FakeSource()
        hub = FeedHub(src, FeedConfig(poll_s=0.01, heartbeat_s=0.05, queue_size=2))
        stream = hub.stream(Selection(frozenset({"alerts"})))
        assert isinstance((await _take(stream, 1))[0], Heartbeat)
        src.add("alert.opened", "alert", "1")
        (first,) = await _take(stream, 1)
        assert isinstance(first, FeedEvent)
        for n in range(2, 6):  # one poll offers four: more than the queue holds
            src.events.append(AuditRecord(n, "alert", str(n), None, "open", "t", n, {}, "alert.opened"))
        (told,) = await _take(stream, 1)
        assert told == Reconnect(first.id, "slow-consumer")
        scoped = hub.stream(Selection(frozenset({"alerts"}), frozenset({"s1"})), after=0)
        src.add("alert.opened", "alert", "9", site="s2")
        mine = src.add("alert.opened", "alert", "10", site="s1")
        (seen,) = await _take(scoped, 1)
        assert isinstance(seen, FeedEvent)
        assert seen.id == mine
        await hub.close()
        assert (await _take(hub.stream(ALL, after=3), 1)) == [Reconnect(3, "shutting-down")]

    asyncio.run(main())
