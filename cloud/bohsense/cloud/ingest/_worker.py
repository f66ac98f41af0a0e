"""The ingest worker: MQTT in, time-series store and BOH core, then acknowledgements out.

Flow of one micro-batch (``Chunk``)::

    broker ──QoS 1──▶ inbox ──collect (decode, check; ≤ N readings or T ms)──▶ chunk
    chunk ──▶ new batches only (``StoreStage``) ──▶ store.write (retry while unavailable) ──▶
              quarantine rejects ──▶ applier.apply_batches (thread; ``Committer``: retry while
              the core is unavailable, isolate what the data breaks) ──▶ PUBACK each message
              ──▶ CloudAck per gateway

Three stages per connection, each its own task, chunks passing in order through queues:
while the collector decodes and checks chunk N+2, chunk N+1 is written to the store and
chunk N applied and acknowledged. The queue before the store holds one chunk; the one
before the apply stage holds ``_GROUP_COMMIT``, and whatever has queued there while a
commit ran is merged into the next commit (group commit), so a slow database commits
less often instead of falling behind. Every chunk is stored before it is applied and
applied before it is acknowledged; acknowledgements keep arrival order. The bounded
queues are the backpressure: while storage is down the store stage retries, the stages
before it stop after one chunk each, and the broker holds the rest (MQTT 5 Receive
Maximum, or the broker's ``max_inflight_messages`` for MQTT 3.1.1, bounds what it sends
unacknowledged).

Modules: ``_link`` (the MQTT connection: paho on a network thread of its own, receive,
manual acks, publish), ``_pipeline`` (collect), ``_store_stage`` (store), ``_apply_stage``
and ``_commit`` (apply, acknowledge); this one runs them, one connection after another.

Messages are acknowledged only after their chunk is committed: paho's manual-ack mode
(see ``_link``). The session is persistent with a stable client id, so anything received but not acknowledged when the
worker or its connection dies is delivered again, and the BOH core drops it as a
duplicate by (gateway, seq); the store's writes are idempotent.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

import msgspec

from bohsense.cloud.errors import CloudError
from bohsense.cloud.ingest._apply_stage import ApplyStage
from bohsense.cloud.ingest._commit import Committer, Stopping
from bohsense.cloud.ingest._config import IngestConfig, parse_broker_url
from bohsense.cloud.ingest._health import (
    SHORT_SESSION_S,
    ClientIdInUse,
    SubscriptionRefused,
    check_granted,
    pipeline_problems,
)
from bohsense.cloud.ingest._link import LinkError, MqttLink, PublishRefused
from bohsense.cloud.ingest._pipeline import Chunk, Collector, Inbox
from bohsense.cloud.ingest._stats import IngestStats
from bohsense.cloud.ingest._store_stage import StoreStage
from bohsense.cloud.ports import BatchApplier, StatusRecorder
from bohsense.cloud.tsdb import TimeSeriesStore
from bohsense.contracts.backoff import Backoff
from bohsense.contracts.codec import Encoding, encode
from bohsense.contracts.schema import AlertNotice, GatewayCommand
from bohsense.contracts.topics import (
    TopicError,
    alert_topic,
    cloud_subscriptions,
    cmd_topic,
    shared,
    site_alert_topic,
)

__all__ = ["CommandNotSent", "IngestWorker"]


class CommandNotSent(CloudError, RuntimeError):
    """A command could not be handed to the broker (not connected, or the client refused it)."""


#: stored chunks that may wait for the apply stage, merged into one commit when they do
_GROUP_COMMIT = 4

log = logging.getLogger(__name__)


class IngestWorker:
    """Consumes ``bohsense/v1/gw/+/readings`` and ``…/status`` until ``run``'s stop event is set."""

    def __init__(
        self,
        store: TimeSeriesStore,
        applier: BatchApplier,
        config: IngestConfig,
        recorder: StatusRecorder | None = None,
    ) -> None:
        self.store = store
        self.applier = applier
        self.recorder = recorder
        self.config = config
        self.stats = IngestStats()
        self.connected = asyncio.Event()
        self._broker = parse_broker_url(config.broker_url)
        self._link: MqttLink | None = None
        #: wall time of the first message of every chunk not yet acknowledged, oldest first
        self._unacked_since: collections.deque[int] = collections.deque()
        self._stages(asyncio.Event())

    def _stages(self, stop: asyncio.Event) -> None:
        self._committer = Committer(self.applier, self.config, self.stats, stop)
        self._storer = StoreStage(self.store, self._committer, self.stats)
        self._applying = ApplyStage(
            self._committer, self._storer, self.recorder, self.config, self.stats, self._unacked_since
        )
        self._applying.after_commit = self.publish_alert_notices

    def problems(self) -> list[str]:
        """Why the pipeline is not working now (empty when it is): for ``/health``."""
        return pipeline_problems(self.stats, time.time_ns(), self.config.stall_after_s, self.config.client_id)

    def publish_alert_notices(self) -> int:
        """Publish the technicians' alert notices waiting in the core's outbox (JSON, QoS 1,
        on ``…/gw/{gateway}/alert`` and ``…/site/{site}/alert``); the count. Safe from any thread; nothing while disconnected
        (the notices wait). A notice the contract refuses is logged and dropped."""
        claim = getattr(self.recorder, "claim_alert_notices", None)
        link = self._link
        if claim is None or link is None or not self.connected.is_set():
            return 0

        def publish(notice: Any) -> bool:
            try:
                msg = msgspec.convert(notice.payload, AlertNotice)
            except msgspec.ValidationError as exc:
                log.warning("alert notice %s dropped: %s", notice.id, exc)
                return True
            payload = encode(msg, Encoding.JSON)
            try:
                site_topic: str | None = site_alert_topic(msg.site)
            except TopicError:
                site_topic = None  # a store id no topic can carry: the gateway's topic still has it
            try:
                link.publish(alert_topic(notice.gateway), payload)
                if site_topic is not None:
                    link.publish(site_topic, payload)  # both again if this one is refused: at least once
            except PublishRefused as exc:
                log.warning("alert notice %s not queued: %s", notice.id, exc)
                return False
            self.stats.alert_notices += 1
            return True

        total = 0
        while True:
            n = int(claim(publish))
            total += n
            if n < 100:
                return total

    def send_command(self, cmd: GatewayCommand) -> None:
        """Queue ``cmd`` for its gateway (QoS 1); paho delivers it while connected.

        The gateway answers on its ``…/result`` topic, which this worker records.
        """
        link = self._link
        if link is None or not self.connected.is_set():
            raise CommandNotSent("not connected to the broker")
        try:
            link.publish(cmd_topic(cmd.gateway), encode(cmd))
        except PublishRefused as exc:
            raise CommandNotSent(f"the MQTT client refused the command: {exc}") from exc
        self.stats.commands_sent += 1

    # -- connection ----------------------------------------------------------------------
    def _filters(self) -> list[str]:
        filters = cloud_subscriptions()
        if self.config.shared_group:
            filters = [shared(self.config.shared_group, f) for f in filters]
        return filters

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Consume until ``stop`` is set; reconnect with jittered backoff whenever the broker goes."""
        stop = stop if stop is not None else asyncio.Event()
        self._stages(stop)
        backoff = Backoff(self.config.reconnect_initial_s, self.config.reconnect_max_s)
        while not stop.is_set():
            try:
                await self._session(stop, backoff)
            except* Stopping:
                log.warning("stopped while retrying: what was not committed stays unacknowledged")
            except* ClientIdInUse as group:
                taken = _leaf(group)
                log.error("%s", taken)
                raise taken from None
            except* LinkError as group:
                self.stats.reconnects += 1
                log.warning("broker connection lost: %s", "; ".join(str(e) for e in group.exceptions))
            if stop.is_set():
                break
            delay = backoff.next()
            try:
                async with asyncio.timeout(delay):
                    await stop.wait()
            except TimeoutError:
                pass
        log.info("ingest worker stopped", extra={"stats": self.stats.as_dict()})

    async def _session(self, stop: asyncio.Event, backoff: Backoff) -> None:
        inbox: Inbox = collections.deque()
        wake = asyncio.Event()

        def deliver(topic: str, payload: bytes, mid: int, qos: int) -> None:
            inbox.append((topic, payload, mid, qos))
            wake.set()

        link = MqttLink(self.config, self._broker, deliver)
        self._committer.check_connected = link.check_connected
        try:
            async with link:
                link.on_disconnected(wake.set)
                for topic_filter in self._filters():
                    try:
                        check_granted(topic_filter, await link.subscribe(topic_filter, qos=1))
                    except SubscriptionRefused as exc:
                        self.stats.subscription_error = str(exc)
                        log.error("%s; retrying after a while", exc)
                        raise
                self.stats.subscribed, self.stats.subscription_error = True, ""
                self.stats.connected_since_ns = time.time_ns()
                backoff.reset()
                self._link = link
                self.connected.set()
                log.info("subscribed", extra={"broker": self._broker.url, "client_id": self.config.client_id})
                queue: asyncio.Queue[Chunk | None] = asyncio.Queue(maxsize=1)
                stored: asyncio.Queue[Chunk | None] = asyncio.Queue(maxsize=_GROUP_COMMIT)
                collector = Collector(self.config, self.stats, self._unacked_since, link.check_connected)
                async with asyncio.TaskGroup() as tg:
                    waker = tg.create_task(self._wake_on(stop, wake), name="ingest-stop-watch")
                    tg.create_task(collector.run(inbox, wake, queue, stop), name="ingest-collect")
                    tg.create_task(self._storer.run(queue, stored), name="ingest-store")
                    await self._applying.run(link, stored)
                    waker.cancel()
        finally:
            self.connected.clear()
            since, self.stats.connected_since_ns = self.stats.connected_since_ns, 0
            if since:  # it had subscribed: was it dropped soon after?
                short = time.time_ns() - since < SHORT_SESSION_S * 1e9 and not stop.is_set()
                self.stats.short_sessions = self.stats.short_sessions + 1 if short else 0
            self.stats.subscribed = False
            self._link = None
            self._storer.unapplied.clear()
            self._unacked_since.clear()
            self.stats.oldest_unacked_ns = 0
            self.stats.pending_messages = 0

    @staticmethod
    async def _wake_on(stop: asyncio.Event, wake: asyncio.Event) -> None:
        await stop.wait()
        wake.set()


def _leaf(group: BaseExceptionGroup[ClientIdInUse]) -> ClientIdInUse:
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    assert isinstance(first, ClientIdInUse)
    return first
