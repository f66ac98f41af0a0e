"""``EdgeAgent``: the composition root of the store gateway process.

``EdgeAgent(settings).run()`` opens the outbox, builds the drivers, connects the uplink
and runs everything as named tasks under one ``asyncio.TaskGroup``::

    driver:<name>   one per [[devices]] table; restarted with backoff if it crashes
    batcher         buffer → ReadingBatch entries in the outbox (assigns seq)
    uplink-send     outbox → broker, in seq order, within the in-flight window
    uplink-inbox    CloudAck / GatewayCommand from the gateway's topics
    uplink-resend   republishes entries that stay unacknowledged
    maintenance     outbox age limit, periodic status log line (and systemd STATUS=)
    watchdog        systemd WATCHDOG=1 pings while the outbox answers (only under a watchdog)

``stop()`` (what SIGTERM/SIGINT call; safe from any thread) sets a flag. Shutdown then
runs within ``shutdown_timeout_s``: drivers are cancelled, the batcher flushes what is
buffered into the outbox, the retained ``offline`` status is published and the client
disconnects cleanly (so the broker does not publish the ``lost`` will), and the outbox
is closed. Whatever was not yet acknowledged stays in the outbox for the next start.

Under systemd (``Type=notify``, ``bohsense.contracts.sdnotify``) the agent sends READY=1
once the outbox is open and every driver and the uplink are started (not waiting for the
broker: a gateway works offline), STATUS= lines with the broker state and the outbox depth,
WATCHDOG=1 at half of ``WatchdogSec=`` while its event loop runs and the outbox's writer
thread answers, and STOPPING=1 when shutdown begins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from bohsense.contracts.backoff import backoff_delay
from bohsense.contracts.sdnotify import Notifier
from bohsense.contracts.timeutil import now_ns
from bohsense.edge.batcher import Batcher, ReadingBuffer
from bohsense.edge.commands import CommandRouter
from bohsense.edge.drivers.base import Driver, Sink
from bohsense.edge.errors import ConfigError
from bohsense.edge.outbox import Outbox, ThreadedOutbox
from bohsense.edge.preflight import build_drivers, build_transport
from bohsense.edge.settings import GatewaySettings
from bohsense.edge.transport import Transport
from bohsense.edge.uplink import Uplink

__all__ = ["EdgeAgent"]

log = logging.getLogger(__name__)

#: the counters of the periodic status log line
_STATUS_KEYS = (
    "readings_in",
    "batches",
    "outbox_depth",
    "published",
    "acked",
    "dropped_readings",
    "lost_readings",
    "buffer_overflow",
    "outbox_disk_full",
    "outbox_full_refused",
    "rejected_readings",
    "reconnects",
    "rejected_ack",
    "rejected_cmd",
)


class EdgeAgent:
    """One store gateway. Build with settings; ``await run()``; ``stop()`` ends it."""

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        drivers: Sequence[Driver] | None = None,
        transport: Transport | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.settings = settings
        self.notifier = notifier if notifier is not None else Notifier()
        self._given_drivers = list(drivers) if drivers is not None else None
        self._given_transport = transport
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.drivers: list[Driver] = []
        self.buffer: ReadingBuffer | None = None
        self.batcher: Batcher | None = None
        self.outbox: ThreadedOutbox | None = None
        self.uplink: Uplink | None = None
        self.driver_crashes = 0
        self.started = asyncio.Event()
        #: the port metrics are served on (``[metrics] listen``), once running; None: off
        self.metrics_port: int | None = None
        self.clean_goodbye = False

    # -- control --------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the agent to shut down; safe from a signal handler or another thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                self._stop.set()
            else:
                loop.call_soon_threadsafe(self._stop.set)
        else:
            self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def counters(self) -> dict[str, int]:
        """A flat snapshot of every counter (readings in, batches, outbox, uplink, drivers)."""
        out: dict[str, int] = {}
        if self.buffer is not None:
            out["readings_in"] = self.buffer.accepted
            out["buffer_overflow"] = self.buffer.overflow
            out["buffered"] = len(self.buffer)
            out["rejected_readings"] = sum(self.buffer.rejected.values())
            for key, n in self.buffer.rejected.items():
                out[f"rejected.reading.{key}"] = n
            out["events_in"] = self.buffer.events_accepted
            out["event_overflow"] = self.buffer.event_overflow
            out["rejected_events"] = sum(self.buffer.rejected_events.values())
            for key, n in self.buffer.rejected_events.items():
                out[f"rejected.event.{key}"] = n
        if self.batcher is not None:
            out["batches"] = self.batcher.batches
            out["readings_batched"] = self.batcher.readings
            out["events_batched"] = self.batcher.events
            out["urgent_batches"] = self.batcher.urgent_batches
            out["outbox_full_refused"] = self.batcher.refused_full
        if self.outbox is not None:
            s = self.outbox.snapshot
            out.update(
                outbox_depth=s.depth,
                outbox_bytes=s.bytes,
                next_seq=s.next_seq,
                floor=s.floor,
                dropped_batches=s.dropped_batches,
                dropped_readings=s.dropped_readings,
                lost_batches=s.lost_batches,
                lost_readings=s.lost_readings,
                dropped_events=s.dropped_events,
                lost_events=s.lost_events,
                # how long the oldest unacknowledged batch has waited (0: nothing held)
                outbox_oldest_age_s=max(0, now_ns() - s.oldest_created) // 10**9 if s.oldest_created else 0,
            )
            out["outbox_disk_full"] = self.outbox.disk_full_appends
        if self.uplink is not None:
            for key in ("sent", "published", "acked", "acks", "connects", "reconnects", "disconnects",
                        "connect_failures", "resend_timeouts", "commands", "command_results", "commands_failed",
                        "rejected_ack", "rejected_cmd",
                        "rebases", "acked_unsent"):  # fmt: skip
                out[key] = self.uplink.counters[key]
            for key, n in self.uplink.rejected.items():
                out[f"rejected.{key}"] = n
            out["connected"] = int(self.uplink.connected)
        out["driver_crashes"] = self.driver_crashes
        for d in self.drivers:
            for key, n in d.stats().items():
                out[f"driver.{d.name}.{key}"] = int(n)
        return out

    # -- run ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop()`` is called or ``stop`` (if given) is set; return after a
        graceful shutdown. Runs once per agent."""
        self._loop = asyncio.get_running_loop()
        if stop is not None:
            self._stop = stop
        st = self.settings
        self.drivers = self._given_drivers if self._given_drivers is not None else self._build_drivers()
        transport = (
            self._given_transport or self._build_transport()
        )  # no I/O yet (wills come from the uplink)
        raw_outbox = await asyncio.to_thread(
            Outbox,
            st.outbox.path,
            max_rows=st.outbox.max_rows,
            max_bytes=st.outbox.max_bytes,
            max_age_s=st.outbox.max_age_s,
            synchronous=st.outbox.synchronous,
        )
        self.outbox = outbox = ThreadedOutbox(raw_outbox)
        snap = outbox.snapshot
        log.info(
            "edge agent starting",
            extra={
                "gateway": st.gateway_id,
                "outbox": str(raw_outbox.path),
                "next_seq": snap.next_seq,
                "outbox_depth": snap.depth,
                "dropped_readings": snap.dropped_readings,
                "lost_readings": snap.lost_readings,
                "devices": [d.name for d in self.drivers],
            },
        )
        self.buffer = ReadingBuffer(st.batch.buffer_readings, st.batch.max_readings, st.batch.max_bytes)
        self.uplink = uplink = Uplink(
            gateway=st.gateway_id,
            site=st.site,
            outbox=outbox,
            transport=transport,
            max_inflight=st.broker.max_inflight,
            resend_after_s=st.broker.resend_after_s,
            commands=(router := CommandRouter(st.gateway_id, self.drivers)).execute,
            known_commands=router.known_commands,
        )
        self.batcher = batcher = Batcher(
            self.buffer,
            outbox.append,
            max_readings=st.batch.max_readings,
            max_bytes=st.batch.max_bytes,
            max_delay_s=st.batch.max_delay_ms / 1000,
            on_appended=uplink.wake,
        )
        metrics = None
        try:
            if st.metrics.listen:
                from bohsense.edge.metrics import MetricsServer

                host, port = st.metrics.address()
                metrics = MetricsServer(host, port, self.counters)
                try:
                    await metrics.start()
                except OSError as exc:
                    raise ConfigError(f"metrics.listen {st.metrics.listen}: cannot listen: {exc}") from exc
                self.metrics_port = metrics.port
            uplink.start()
            async with asyncio.TaskGroup() as tg:
                driver_tasks = [
                    tg.create_task(self._supervise(d), name=f"driver:{d.name}") for d in self.drivers
                ]
                batch_task = tg.create_task(batcher.run(), name="batcher")
                service = [
                    tg.create_task(uplink.send_loop(), name="uplink-send"),
                    tg.create_task(uplink.inbox_loop(), name="uplink-inbox"),
                    tg.create_task(uplink.resend_loop(), name="uplink-resend"),
                    tg.create_task(self._maintenance(), name="maintenance"),
                ]
                interval = self.notifier.ping_interval_s
                if interval is not None:
                    service.append(tg.create_task(self._watchdog(interval), name="watchdog"))
                uplink.wake()
                self.started.set()
                self.notifier.ready(self.status_text())
                await self._stop.wait()
                self.notifier.stopping("stopping: flushing readings to the outbox, publishing offline")
                log.info("edge agent stopping", extra={"timeout_s": st.shutdown_timeout_s})
                deadline = time.monotonic() + st.shutdown_timeout_s
                for t in driver_tasks:
                    t.cancel()
                batcher.stop()
                try:
                    async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                        await asyncio.shield(batch_task)
                except TimeoutError:
                    log.error("batcher did not flush in time", extra={"buffered": len(self.buffer)})
                    batch_task.cancel()
                self.clean_goodbye = await uplink.goodbye(max(0.5, min(5.0, deadline - time.monotonic())))
                for t in service:
                    t.cancel()
        finally:
            if metrics is not None:
                await metrics.close()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(transport.close, 1.0)
            await outbox.close()
            log.info("edge agent stopped", extra=self.counters())

    def status_text(self) -> str:
        """One line for ``systemctl status``: the broker, the outbox and the drivers."""
        c = self.counters()
        # the node in use (one of broker.url and broker.hosts); never has credentials
        broker = (self.uplink.broker_address() if self.uplink else "") or self.settings.broker.url
        link = f"connected to {broker}" if c.get("connected") else f"not connected to {broker} (buffering)"
        return (
            f"{link}; outbox: {c.get('outbox_depth', 0)} batches unacknowledged;"
            f" drivers: {len(self.drivers)}; readings in: {c.get('readings_in', 0)}"
        )

    # -- internals ------------------------------------------------------------------------

    async def _watchdog(self, interval: float) -> None:
        """WATCHDOG=1 every ``interval`` while the outbox's writer thread answers within it:
        a loop or an outbox that hangs stops the pings, and systemd restarts the gateway."""
        assert self.outbox is not None
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            try:
                async with asyncio.timeout(interval):
                    await self.outbox.fetch(self.outbox.snapshot.next_seq, 1)
            except TimeoutError:
                log.error("watchdog: the outbox did not answer within %.1f s; not pinging", interval)
                continue
            self.notifier.watchdog()
            await asyncio.sleep(max(0.0, interval - (loop.time() - began)))

    def _build_drivers(self) -> list[Driver]:
        return build_drivers(self.settings)

    def _build_transport(self) -> Transport:
        return build_transport(self.settings, self._next_will)

    def _next_will(self) -> tuple[bytes, int]:
        """The transport's will factory: the uplink builds one per connection (network thread)."""
        uplink = self.uplink
        assert uplink is not None, "the transport starts only after the uplink exists"
        return uplink.next_will()

    async def _supervise(self, driver: Driver) -> None:
        assert self.buffer is not None
        sink: Sink = self.buffer  # readings and events: the buffer takes both
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                await driver.run(sink)
                log.warning("driver returned; restarting it", extra={"driver": driver.name})
            except asyncio.CancelledError:
                raise
            except Exception:
                self.driver_crashes += 1
                log.exception("driver crashed; restarting it", extra={"driver": driver.name})
            attempt = 1 if time.monotonic() - started > 60 else attempt + 1
            await asyncio.sleep(backoff_delay(attempt, 0.5, 30.0))

    async def _maintenance(self) -> None:
        assert self.outbox is not None
        interval = self.settings.status_interval_s
        last_expire = 0.0
        while True:
            await asyncio.sleep(interval)
            if time.monotonic() - last_expire > 60:
                last_expire = time.monotonic()
                dropped = await self.outbox.expire()
                if dropped:
                    log.warning("outbox entries older than the age limit dropped", extra={"batches": dropped})
            c = self.counters()
            log.info(
                "edge status",
                extra={k: c.get(k, 0) for k in _STATUS_KEYS},
            )
            self.notifier.status(self.status_text())
