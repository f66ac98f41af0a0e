"""The uplink: outbox → broker, and the cloud's acks and commands → the gateway.

The uplink publishes outbox entries, keeping at most ``max_inflight`` of them handed to
the MQTT client and not yet PUBACKed (paho's packet ids wrap at 65,535 and would
overwrite queued messages: the window keeps far below that). The state of every entry
is held by ``outbox_state.EntryStates`` (``states``) and nowhere else: only a PENDING
entry is sent, and PUBACK, reconnect, resend timeout, CloudAck and drop move entries as
its table says. A rewind (after a reconnect, or ``resend_after_s`` without a CloudAck
making progress, doubling up to 8× while the cloud stays silent) makes PUBLISHED entries
PENDING again and starts the walk over from the floor.

Order and priority: sequence numbers are assigned when a batch is appended and never
change; they are not the send order. On every pass the window is filled first with
PENDING *urgent* entries (``ReadingBatch.urgent``: a batch carrying an urgent event such
as ``device.alarm``), in seq order, then with the rest in seq order (the walk, which
skips what was already sent ahead). So after an outage the urgent batches made during
it reach the broker before the backlog; only what the MQTT client still held from
before the outage (at most one window) goes ahead of them, resent by the client itself
as soon as it reconnects. Exactly-once is untouched: the cloud applies each
``(gateway, seq)`` once whatever the order, applies an early seq at once (it records it
above its watermark), and its watermark and ``CloudAck.upto`` stay contiguous, so an
urgent entry sent ahead stays held here until the backlog below it is acknowledged too
(resent after a reconnect; the cloud drops the repeat as a duplicate).

Inbound, on the gateway's own topics:
- ``…/ack``: a ``CloudAck`` deletes every entry with ``seq <= upto``; entries it
  deletes that were never handed to the MQTT client (above the outbox's ``sent_upto``,
  kept before every hand-over) were never stored by a cloud: they are counted as
  dropped, with an error log. An ack at or beyond ``next_seq`` means the outbox was
  replaced (its counter went back): held entries are renumbered past it (a rebase);
  an ack beyond ``MAX_SEQ`` is refused as ``implausible-upto`` (counted, logged,
  nothing changes), so a forged ack cannot push the counter to overflow;
- ``…/cmd``: a ``GatewayCommand``, carried out by ``bohsense.edge.commands`` and answered
  on ``…/result`` with a ``CommandResult`` under its id (an unknown command too, with
  the reason); ``ping`` also republishes the status.
A payload that does not decode, or names another gateway, is rejected with its reason,
counted in ``rejected`` and logged; nothing else happens.

Status (``…/status``, retained): every MQTT connection has an epoch
(``GatewayStatus.epoch``): ``next_will`` allocates it just before the transport opens
the connection (the gateway's time in ns, strictly above every epoch this outbox has
seen) and builds that connection's ``lost`` will with it; the birth (``online``), the
statuses republished on ``ping`` and the clean goodbye (``offline``) carry the epoch of
the connection they are sent on. The epoch is kept in the outbox once connected.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Collection
from importlib.metadata import PackageNotFoundError, version
from typing import Literal

from bohsense.contracts.codec import PayloadError, decode_ack, decode_command, encode, encode_raw_batch
from bohsense.contracts.schema import CloudAck, CommandResult, GatewayCommand, GatewayStatus
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import (
    ack_topic,
    cmd_topic,
    gateway_subscriptions,
    readings_topic,
    result_topic,
    status_topic,
)
from bohsense.edge.commands import COMMANDS, CommandRouter
from bohsense.edge.outbox import MAX_SEQ, Entry, OutboxStats, ThreadedOutbox
from bohsense.edge.outbox_state import EntryEvent, EntryState, EntryStates
from bohsense.edge.transport import Transport

__all__ = ["KNOWN_COMMANDS", "CommandHandler", "Uplink", "edge_version"]

log = logging.getLogger(__name__)

KNOWN_COMMANDS = COMMANDS
CommandHandler = Callable[[GatewayCommand], Awaitable[CommandResult]]
_MAX_RESEND_FACTOR = 8


def edge_version() -> str:
    try:
        return version("bohsense-edge")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


class Uplink:
    def __init__(
        self,
        *,
        gateway: str,
        site: str,
        outbox: ThreadedOutbox,
        transport: Transport,
        max_inflight: int = 500,
        resend_after_s: float = 30.0,
        commands: CommandHandler | None = None,
        known_commands: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self.gateway, self.site = gateway, site
        self._epoch_lock = threading.Lock()
        self._last_epoch = outbox.snapshot.epoch  # the highest allocated (any thread)
        self.epoch = 0  # of the current connection (event loop)
        self._epoch_tasks: set[asyncio.Task[None]] = set()
        # without a router of the agent's (its devices), only ping is carried out
        self._commands = commands if commands is not None else CommandRouter(gateway, []).execute
        # the commands this gateway takes: ping and whatever its drivers take
        self._known_commands = known_commands if known_commands is not None else lambda: KNOWN_COMMANDS
        self._command_tasks: set[asyncio.Task[None]] = set()
        self._outbox = outbox
        self._transport = transport
        self.max_inflight = max_inflight
        self.resend_after_s = resend_after_s
        self._topics = {
            "readings": readings_topic(gateway),
            "status": status_topic(gateway),
            "ack": ack_topic(gateway),
            "cmd": cmd_topic(gateway),
            "result": result_topic(gateway),
        }
        self.connected = False
        self._closing = False
        #: the state of every outbox entry: the one record of it
        self.states = EntryStates()
        #: where the walk (seq order) and the urgent pass go on from; no state, a position
        self._cursor = 0
        self._urgent_cursor = 0
        self._rewinds = 0
        self._mids: dict[int, int] = {}  # MQTT message id -> seq, for PUBACKs
        self._status_mids: dict[int, asyncio.Future[None]] = {}
        self._wake = asyncio.Event()
        self._inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._last_progress = time.monotonic()
        self._resend_factor = 1
        self.counters: collections.Counter[str] = collections.Counter()
        self.rejected: collections.Counter[str] = collections.Counter()

    # -- lifecycle ------------------------------------------------------------------------

    @staticmethod
    def status_payload(
        gateway: str,
        site: str,
        state: Literal["online", "offline", "lost"],
        s: OutboxStats | None = None,
        epoch: int = 0,
    ) -> bytes:
        return encode(
            GatewayStatus(
                gateway=gateway,
                state=state,
                ts=now_ns(),
                site=site,
                version=edge_version(),
                next_seq=s.next_seq if s else 0,
                outbox_depth=s.depth if s else 0,
                dropped=s.lost_readings if s else 0,
                dropped_in_doubt=s.dropped_readings - s.lost_readings if s else 0,
                epoch=epoch,
            )
        )

    def next_epoch(self) -> int:
        """A new connection epoch: now in ns, strictly above every one before (thread-safe)."""
        with self._epoch_lock:
            self._last_epoch = max(now_ns(), self._last_epoch + 1)
            return self._last_epoch

    def next_will(self) -> tuple[bytes, int]:
        """The ``lost`` will of the connection about to be opened, and its epoch.

        Called by the transport on its network thread before every connection attempt.
        """
        epoch = self.next_epoch()
        return self.status_payload(self.gateway, self.site, "lost", self._outbox.snapshot, epoch), epoch

    def start(self) -> None:
        self._transport.start(self, asyncio.get_running_loop())

    def wake(self, _seq: int = 0) -> None:
        self._wake.set()

    async def goodbye(self, within_s: float) -> bool:
        """Publish the retained ``offline`` status, wait for its PUBACK, disconnect cleanly."""
        delivered = False
        self._closing = True
        if self.connected:
            fut = self._publish_status("offline")
            try:
                async with asyncio.timeout(within_s):
                    await fut
                delivered = True
            except TimeoutError:
                log.warning(
                    "offline status not acknowledged by the broker in time", extra={"timeout_s": within_s}
                )
        await asyncio.to_thread(self._transport.close, within_s)
        self.connected = False
        return delivered

    # -- tasks ----------------------------------------------------------------------------

    async def send_loop(self) -> None:
        """Publish PENDING entries within the in-flight window: urgent ones first, then the
        rest in seq order (see the module doc)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self.connected:
                continue
            room = self.max_inflight - self.states.inflight
            if room <= 0:
                continue
            rewinds = self._rewinds
            limit = room + self.states.inflight
            # fetched entries are marked sent before any is handed over (an upper bound)
            todo = await self._outbox.to_send(self._urgent_cursor, self._cursor, limit)
            if rewinds != self._rewinds:
                self._wake.set()  # rewound while reading: start again from the floor
                continue
            self.states.settle(todo.floor)
            sent = 0
            for entry in todo.urgent:
                if not self.connected or sent >= room:
                    break
                self._urgent_cursor = entry.seq + 1
                if self.states[entry.seq] is EntryState.PENDING:
                    self._publish_entry(entry, todo.floor)
                    self.counters["sent_urgent"] += 1
                    sent += 1
            for entry in todo.entries:
                if not self.connected or sent >= room:
                    break
                self._cursor = entry.seq + 1
                # not PENDING: sent ahead (urgent), or still with the client, which resends it itself
                if self.states[entry.seq] is EntryState.PENDING:
                    self._publish_entry(entry, todo.floor)
                    sent += 1
            self.counters["sent"] += sent
            if sent or len(todo.entries) == limit:
                self._wake.set()

    def _publish_entry(self, entry: Entry, floor: int) -> None:
        payload = encode_raw_batch(
            gateway=self.gateway,
            seq=entry.seq,
            sent=now_ns(),
            readings=entry.payload,
            floor=floor,
            site=self.site,
            events=entry.event_payload or None,
            urgent=entry.urgent,
        )
        mid = self._transport.publish(self._topics["readings"], payload)
        self._mids[mid] = entry.seq
        self.states.send(entry.seq)

    async def inbox_loop(self) -> None:
        """Handle acks and commands in arrival order."""
        while True:
            topic, payload = await self._inbox.get()
            if topic == self._topics["ack"]:
                await self._handle_ack(payload)
            elif topic == self._topics["cmd"]:
                self._handle_command(payload)
            else:
                self._reject("topic", "unexpected-topic", f"message on {topic!r}")

    async def resend_loop(self, tick_s: float = 1.0) -> None:
        """Rewind to the floor when published entries go unacknowledged for too long."""
        while True:
            await asyncio.sleep(tick_s)
            snap = self._outbox.snapshot
            if not self.connected or snap.depth == 0 or not self.states.handed_over:
                self._last_progress = time.monotonic()
                continue
            if time.monotonic() - self._last_progress > self.resend_after_s * self._resend_factor:
                log.info(
                    "no cloud ack in time: publishing unacknowledged batches again",
                    extra={"floor": snap.floor, "cursor": self._cursor, "factor": self._resend_factor},
                )
                self.counters["resend_timeouts"] += 1
                self._resend_factor = min(_MAX_RESEND_FACTOR, self._resend_factor * 2)
                self._rewind(EntryEvent.RESEND_TIMEOUT)

    # -- transport events (on the loop) --------------------------------------------------

    def on_connected(self, session_present: bool, epoch: int = 0) -> None:
        self.epoch = epoch or self.next_epoch()
        task = asyncio.create_task(self._outbox.record_epoch(self.epoch), name="record-epoch")
        self._epoch_tasks.add(task)
        task.add_done_callback(self._epoch_tasks.discard)
        self.counters["connects"] += 1
        if self.counters["connects"] > 1:
            self.counters["reconnects"] += 1
        self.connected = True
        log.info(
            "connected to broker",
            extra={
                "broker": self.broker_address(),
                "session_present": session_present,
                "reconnects": self.counters["reconnects"],
            },
        )
        self._transport.subscribe(gateway_subscriptions(self.gateway))
        self._publish_status("online")
        self._rewind(EntryEvent.CONNECTION_LOST)

    def broker_address(self) -> str:
        """The broker's scheme, host and port as the transport knows them ("" if it does not)."""
        return str(getattr(self._transport, "address", ""))

    def on_connect_failed(self, reason: str) -> None:
        self.counters["connect_failures"] += 1
        log.warning("cannot connect to broker", extra={"broker": self.broker_address(), "reason": reason})

    def on_disconnected(self, reason: str) -> None:
        if self.connected and not self._closing:
            self.counters["disconnects"] += 1
            log.warning("disconnected from broker", extra={"broker": self.broker_address(), "reason": reason})
        self.connected = False

    def on_puback(self, mid: int) -> None:
        seq = self._mids.pop(mid, None)
        if seq is not None:
            if self.states.puback(seq) is EntryState.PUBLISHED:
                self.counters["published"] += 1
            else:
                self.counters["puback_after_end"] += 1  # acknowledged or dropped meanwhile
            self._wake.set()
            return
        fut = self._status_mids.pop(mid, None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    def on_message(self, topic: str, payload: bytes) -> None:
        self._inbox.put_nowait((topic, payload))

    # -- internals ------------------------------------------------------------------------

    def _rewind(self, event: EntryEvent) -> None:
        self.states.rewind(event)
        self._cursor = 0
        self._urgent_cursor = 0
        self._rewinds += 1
        self._last_progress = time.monotonic()
        self._wake.set()

    def _publish_status(self, state: Literal["online", "offline", "lost"]) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        payload = self.status_payload(self.gateway, self.site, state, self._outbox.snapshot, self.epoch)
        mid = self._transport.publish(self._topics["status"], payload, retain=True)
        self._status_mids[mid] = fut
        return fut

    async def _handle_ack(self, payload: bytes) -> None:
        try:
            ack: CloudAck = decode_ack(payload)
        except PayloadError as exc:
            self._reject("ack", exc.reason, exc.detail)
            return
        if ack.gateway != self.gateway:
            self._reject("ack", "wrong-gateway", f"ack for {ack.gateway!r} on {self.gateway!r}'s topic")
            return
        self.counters["acks"] += 1
        snap = self._outbox.snapshot
        if ack.upto >= snap.next_seq:
            if ack.upto + snap.depth >= MAX_SEQ:
                self._reject(
                    "ack",
                    "implausible-upto",
                    f"ack up to {ack.upto}: beyond any seq this gateway could have made"
                    f" (next_seq {snap.next_seq}, limit {MAX_SEQ}); not rebased",
                )
                return
            shift = await self._outbox.rebase(ack.upto)
            self.counters["rebases"] += 1
            log.error(
                "cloud acknowledged sequence numbers this gateway never made (outbox replaced?):"
                " held batches renumbered past the ack",
                extra={"upto": ack.upto, "shift": shift},
            )
            self._mids.clear()
            self.states.renumbered()
            self._rewind(EntryEvent.CONNECTION_LOST)
            return
        outcome = await self._outbox.ack(ack.upto)
        self.states.cloud_ack(ack.upto)
        self.states.settle(self._outbox.snapshot.floor)
        deleted = outcome.deleted
        if outcome.unsent:
            self.counters["acked_unsent"] += outcome.unsent
            log.error(
                "cloud acknowledged batches this gateway never sent (a forged ack?): deleted and"
                " counted as dropped",
                extra={"upto": ack.upto, "batches": outcome.unsent, "readings": outcome.unsent_readings},
            )
        if deleted:
            self.counters["acked"] += deleted - outcome.unsent
            self._last_progress = time.monotonic()
            self._resend_factor = 1

    def _handle_command(self, payload: bytes) -> None:
        try:
            cmd: GatewayCommand = decode_command(payload)
        except PayloadError as exc:
            self._reject("cmd", exc.reason, exc.detail)
            return
        if cmd.gateway != self.gateway:
            self._reject("cmd", "wrong-gateway", f"command for {cmd.gateway!r} on {self.gateway!r}'s topic")
            return
        known = self._known_commands()
        if cmd.command not in known:
            self._reject(
                "cmd",
                "unknown-command",
                f"command {cmd.command!r} (id {cmd.id}) is not one of {sorted(known)}",
            )
        else:
            self.counters["commands"] += 1
            log.info("command accepted", extra={"command": cmd.command, "command_id": cmd.id})
            if cmd.command == "ping" and self.connected:
                self._publish_status("online")
        task = asyncio.create_task(self._answer(cmd), name=f"command:{cmd.id}")
        self._command_tasks.add(task)
        task.add_done_callback(self._command_tasks.discard)

    async def _answer(self, cmd: GatewayCommand) -> None:
        """Carry out ``cmd`` (a device command may take a while) and publish its result."""
        result = await self._commands(cmd)
        self.counters["command_results"] += 1
        if not result.ok:
            self.counters["commands_failed"] += 1
        if self.connected:
            self._transport.publish(self._topics["result"], encode(result))

    def _reject(self, kind: str, reason: str, detail: str) -> None:
        self.rejected[f"{kind}.{reason}"] += 1
        self.counters[f"rejected_{kind}"] += 1
        log.warning(
            "rejected inbound message", extra={"kind": kind, "reason": reason, "detail": detail[:300]}
        )
