"""The ingest worker: MQTT in, time-series store and BOH core, then acknowledgements out.

Flow of one micro-batch (``_Chunk``)::

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

Messages are acknowledged only after their chunk is committed: paho's manual-ack mode
(``manual_ack_set(True)`` before connecting, ``ack(mid, qos)`` afterwards). The session is
persistent with a stable client id, so anything received but not acknowledged when the
worker or its connection dies is delivered again, and the BOH core drops it as a
duplicate by (gateway, seq); the store's writes are idempotent.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, cast

import aiomqtt
import paho.mqtt.client as paho

from bohsense.cloud.ingest._commit import Committer, Stopping
from bohsense.cloud.ingest._config import IngestConfig, parse_broker_url
from bohsense.cloud.ingest._health import (
    SHORT_SESSION_S,
    ClientIdInUse,
    SubscriptionRefused,
    check_granted,
    pipeline_problems,
    taken_over,
)
from bohsense.cloud.ingest._stats import IngestStats
from bohsense.cloud.ingest._store_stage import StoreStage
from bohsense.cloud.ingest._validate import Checked, check_message
from bohsense.cloud.ports import ApplyOutcome, BatchApplier, BatchEvent, QuarantineItem, StatusRecorder
from bohsense.cloud.tsdb import TimeSeriesStore
from bohsense.contracts.backoff import Backoff
from bohsense.contracts.codec import encode
from bohsense.contracts.schema import CloudAck, CommandResult, GatewayCommand, GatewayStatus, ReadingBatch
from bohsense.contracts.topics import (
    ack_topic,
    cloud_subscriptions,
    cmd_topic,
    result_topic,
    shared,
    status_topic,
)

__all__ = ["CommandNotSent", "IngestWorker"]


class CommandNotSent(RuntimeError):
    """A command could not be handed to the broker (not connected, or the client refused it)."""


#: stored chunks that may wait for the apply stage, merged into one commit when they do
_GROUP_COMMIT = 4

log = logging.getLogger(__name__)

_Inbox = collections.deque[tuple[str, bytes, int, int]]  # topic, payload, mid, qos


@dataclass(slots=True)
class _Chunk:
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

    def merge(self, later: _Chunk) -> None:
        self.batches.extend(later.batches)
        self.statuses.extend(later.statuses)
        self.results.extend(later.results)
        self.quarantine.extend(later.quarantine)
        for key, events in later.events.items():
            self.events.setdefault(key, events)
        self.acks.extend(later.acks)
        self.readings += later.readings
        self.parts += later.parts


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
        self._client: aiomqtt.Client | None = None
        self._committer = Committer(applier, config, self.stats, asyncio.Event())
        self._storer = StoreStage(store, self._committer, self.stats)
        #: wall time of the first message of every chunk not yet acknowledged, oldest first
        self._unacked_since: collections.deque[int] = collections.deque()

    def problems(self) -> list[str]:
        """Why the pipeline is not working now (empty when it is): for ``/health``."""
        return pipeline_problems(self.stats, time.time_ns(), self.config.stall_after_s, self.config.client_id)

    def send_command(self, cmd: GatewayCommand) -> None:
        """Queue ``cmd`` for its gateway (QoS 1); paho delivers it while connected.

        The gateway answers on its ``…/result`` topic, which this worker records.
        """
        client = self._client
        if client is None or not self.connected.is_set():
            raise CommandNotSent("not connected to the broker")
        info = client._client.publish(cmd_topic(cmd.gateway), encode(cmd), qos=1)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise CommandNotSent(f"the MQTT client refused the command: {paho.error_string(info.rc)}")
        self.stats.commands_sent += 1

    # -- connection ----------------------------------------------------------------------
    def _filters(self) -> list[str]:
        filters = cloud_subscriptions()
        if self.config.shared_group:
            filters = [shared(self.config.shared_group, f) for f in filters]
        return filters

    def _make_client(self) -> aiomqtt.Client:
        cfg, b = self.config, self._broker
        kwargs: dict[str, Any] = {}
        if cfg.mqtt_protocol == 5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = cfg.session_expiry_s
            props.ReceiveMaximum = cfg.receive_maximum
            kwargs.update(protocol=aiomqtt.ProtocolVersion.V5, clean_start=False, properties=props)
        else:
            kwargs.update(protocol=aiomqtt.ProtocolVersion.V311, clean_session=False)
        return aiomqtt.Client(
            b.host,
            b.port,
            username=b.username,
            password=b.password,
            identifier=cfg.client_id,
            keepalive=cfg.keepalive_s,
            tls_context=ssl.create_default_context() if b.tls else None,
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            timeout=10,
            **kwargs,
        )

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Consume until ``stop`` is set; reconnect with jittered backoff whenever the broker goes."""
        stop = stop if stop is not None else asyncio.Event()
        self._committer = Committer(self.applier, self.config, self.stats, stop)
        self._storer = StoreStage(self.store, self._committer, self.stats)
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
            except* aiomqtt.MqttError as group:
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
        client = self._make_client()
        inbox: _Inbox = collections.deque()
        wake = asyncio.Event()

        def on_message(_c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
            inbox.append((msg.topic, cast(bytes, msg.payload), msg.mid, msg.qos))
            wake.set()

        self._committer.check_connected = lambda: self._check_connected(client)
        paho_client = client._client
        paho_client.manual_ack_set(True)
        paho_client.on_message = on_message
        try:
            async with client:
                client._disconnected.add_done_callback(lambda f: _wake_on_done(f, wake))
                for topic_filter in self._filters():
                    try:
                        check_granted(topic_filter, await client.subscribe(topic_filter, qos=1))
                    except SubscriptionRefused as exc:
                        self.stats.subscription_error = str(exc)
                        log.error("%s; retrying after a while", exc)
                        raise
                self.stats.subscribed, self.stats.subscription_error = True, ""
                self.stats.connected_since_ns = time.time_ns()
                backoff.reset()
                self._client = client
                self.connected.set()
                log.info("subscribed", extra={"broker": self._broker.url, "client_id": self.config.client_id})
                queue: asyncio.Queue[_Chunk | None] = asyncio.Queue(maxsize=1)
                stored: asyncio.Queue[_Chunk | None] = asyncio.Queue(maxsize=_GROUP_COMMIT)
                async with asyncio.TaskGroup() as tg:
                    waker = tg.create_task(self._wake_on(stop, wake), name="ingest-stop-watch")
                    tg.create_task(self._collect(client, inbox, wake, queue, stop), name="ingest-collect")
                    tg.create_task(self._store_loop(client, queue, stored), name="ingest-store")
                    await self._apply_loop(client, stored)
                    waker.cancel()
        finally:
            self.connected.clear()
            since, self.stats.connected_since_ns = self.stats.connected_since_ns, 0
            if since:  # it had subscribed: was it dropped soon after?
                short = time.time_ns() - since < SHORT_SESSION_S * 1e9 and not stop.is_set()
                self.stats.short_sessions = self.stats.short_sessions + 1 if short else 0
            self.stats.subscribed = False
            self._client = None
            self._storer.unapplied.clear()
            self._unacked_since.clear()
            self.stats.oldest_unacked_ns = 0
            self.stats.pending_messages = 0

    @staticmethod
    async def _wake_on(stop: asyncio.Event, wake: asyncio.Event) -> None:
        await stop.wait()
        wake.set()

    def _check_connected(self, client: aiomqtt.Client) -> None:
        fut = client._disconnected
        if fut.done():
            if not fut.cancelled() and taken_over(fut.exception()):
                raise ClientIdInUse(
                    f"another MQTT client connected with client id {self.config.client_id!r} and took over"
                    " this worker's session: give every worker its own client id (BOHSENSE_CLOUD_CLIENT_ID;"
                    " the default is unique per host and API port) and let them share the load through a"
                    " shared subscription (BOHSENSE_CLOUD_SHARED_GROUP)"
                )
            raise aiomqtt.MqttError(
                "disconnected from the broker; unacknowledged messages will be redelivered"
            )

    # -- collect -------------------------------------------------------------------------
    async def _collect(
        self,
        client: aiomqtt.Client,
        inbox: _Inbox,
        wake: asyncio.Event,
        queue: asyncio.Queue[_Chunk | None],
        stop: asyncio.Event,
    ) -> None:
        loop = asyncio.get_running_loop()
        cfg, stats = self.config, self.stats
        max_readings, max_s, max_msgs = (
            cfg.batch_max_readings,
            cfg.batch_max_ms / 1000,
            cfg.batch_max_messages,
        )
        chunk = _Chunk()
        while True:
            self._check_connected(client)
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
                self._check_connected(client)
            while inbox and chunk.readings < max_readings and len(chunk.acks) < max_msgs:
                topic, payload, mid, qos = inbox.popleft()
                if not chunk:
                    chunk.started = loop.time()
                    self._unacked_since.append(time.time_ns())
                    self.stats.oldest_unacked_ns = self._unacked_since[0]
                stats.messages += 1
                stats.pending_messages += 1
                chunk.acks.append((mid, qos))
                now = time.time_ns()
                try:
                    checked = check_message(topic, payload, now, cfg.max_future_ns)
                except Exception as exc:  # a bug must not stop ingest: keep the payload
                    log.exception("checking a message failed")
                    checked = Checked(quarantine=[QuarantineItem(topic, payload, "internal", repr(exc), now)])
                if checked.settled:
                    stats.batches_rejected_settled += 1
                if checked.batch is not None:
                    chunk.batches.append(checked.batch)
                    if checked.events:
                        chunk.events.setdefault((checked.batch.gateway, checked.batch.seq), checked.events)
                    chunk.readings += len(checked.batch.readings)
                    stats.batches += 1
                elif checked.status is not None:
                    chunk.statuses.append(checked.status)
                elif checked.result is not None:
                    chunk.results.append(checked.result)
                chunk.quarantine.extend(checked.quarantine)
            if chunk and (
                chunk.readings >= max_readings
                or len(chunk.acks) >= max_msgs
                or loop.time() >= chunk.started + max_s
                or stop.is_set()
            ):
                await queue.put(chunk)
                chunk = _Chunk()
        if chunk:
            await queue.put(chunk)
        await queue.put(None)

    # -- commit --------------------------------------------------------------------------
    async def _store_loop(
        self,
        client: aiomqtt.Client,
        queue: asyncio.Queue[_Chunk | None],
        stored: asyncio.Queue[_Chunk | None],
    ) -> None:
        while (chunk := await queue.get()) is not None:
            if chunk.batches:
                chunk.batches, rejected = await self._storer.write(chunk.batches)
                chunk.quarantine.extend(rejected)
            await stored.put(chunk)
        await stored.put(None)

    async def _apply_loop(self, client: aiomqtt.Client, stored: asyncio.Queue[_Chunk | None]) -> None:
        """Apply stored chunks in order; chunks that queued up while the previous commit ran
        are merged into one (group commit), so a slow database commits less often."""
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
            await self._commit(client, chunk)

    async def _commit(self, client: aiomqtt.Client, chunk: _Chunk) -> None:
        """Quarantine, apply, acknowledge one chunk whose readings are stored already."""
        stats, committer = self.stats, self._committer
        batches = chunk.batches
        await committer.quarantine(chunk.quarantine)
        outcome = ApplyOutcome()
        if batches:
            outcome = await committer.apply(batches, chunk.events)
            stats.batches_applied += outcome.applied
            stats.readings_applied += outcome.readings_applied
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
        self._storer.applied(batches)
        self._check_connected(client)
        ack = client._client.ack
        for mid, qos in chunk.acks:
            ack(mid, qos)
        stats.mqtt_acks += len(chunk.acks)
        stats.pending_messages -= len(chunk.acks)
        for _ in range(chunk.parts):
            self._unacked_since.popleft()
        stats.oldest_unacked_ns = self._unacked_since[0] if self._unacked_since else 0
        stats.commits += 1
        loop_now = asyncio.get_running_loop().time()
        stats.lag_ms = (loop_now - chunk.started) * 1000
        if batches:
            now = time.time_ns()  # a ``sent`` from the future (a wrong clock, a forgery) says nothing
            newest = max((b.sent for b in batches if b.sent <= now), default=None)
            if newest is not None:
                stats.event_lag_ms = (now - newest) / 1e6
        if self.config.publish_acks and batches:
            self._publish_acks(client, {b.gateway for b in batches}, outcome)

    def _publish_acks(self, client: aiomqtt.Client, gateways: set[str], outcome: ApplyOutcome) -> None:
        """Queue one retained CloudAck per gateway; paho delivers it (QoS 1) without us waiting.

        Waiting for each PUBACK would stall the pipeline for a round trip per commit, and
        an ack that is lost with the connection is superseded by the next one.
        """
        now = time.time_ns()
        publish = client._client.publish
        for gw in sorted(gateways):
            upto = outcome.watermarks.get(gw)
            if upto is None:
                continue
            info = publish(ack_topic(gw), encode(CloudAck(gateway=gw, upto=upto, ts=now)), qos=1, retain=True)
            if info.rc != paho.MQTT_ERR_SUCCESS:
                log.warning("CloudAck for %s not queued: %s", gw, paho.error_string(info.rc))
                continue
            self.stats.acks_published += 1


def _leaf(group: BaseExceptionGroup[ClientIdInUse]) -> ClientIdInUse:
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    assert isinstance(first, ClientIdInUse)
    return first


def _wake_on_done(fut: asyncio.Future[None], wake: asyncio.Event) -> None:
    if not fut.cancelled():
        fut.exception()  # retrieved: the reason reaches run() through MessagesIterator / _check_connected
    wake.set()
