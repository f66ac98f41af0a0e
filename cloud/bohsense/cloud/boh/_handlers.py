"""Device events in the BOH core: stored, then handed to the handler registered for their kind.

The ``Applier`` calls ``EventHandlers.dispatch`` inside the transaction that applies the
batches, for the events of the batches that are new by ``(gateway, seq)`` only: a
duplicate batch stores nothing and runs no handler again, and a rolled-back call leaves
neither rows nor effects. For each batch, in order::

    device_events rows (one per event, unique on (gateway, seq, idx)) ──▶ handler per event

A handler is ``(ctx, event) -> decisions | None``: ``ctx`` (``EventContext``) gives the
connection of the transaction, the batch's gateway, site and seq, the event's index in the
batch as sent, and the apply time. A handler may change BOH state itself through
``ctx.conn``; what it decides for the rules (an alarm raised, say) it returns as decisions,
which go to ``decide`` — the hook where a decision table maps decisions to effects. Until
one is given (``decide=None``), decisions are kept only in the returned ``Dispatched``.

A handler that raises fails the whole call (nothing of it is committed), as a rule's
error does: ingest then isolates the batch and quarantines it as ``apply-failed`` with the
error (``HandlerFailed`` names the kind, gateway, seq and index), and its seq is recorded
without its readings or events so the gateway's watermark moves on. An error that says the
database is unavailable is raised unchanged, so that ingest retries instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import Connection, insert, select

from bohsense.cloud.errors import CloudError
from bohsense.contracts.events import EVENT_KINDS, Alarm, Event, decode_event, event_kind
from bohsense.contracts.schema import ReadingBatch

from ..ports import BatchEvent, BatchEvents
from ._inventory import zone_snapshot
from ._models import DeviceEvent, Gateway
from ._unavailable import is_unavailable

__all__ = [
    "AlarmReported",
    "Decision",
    "Dispatched",
    "EventContext",
    "EventHandlers",
    "Handler",
    "HandlerFailed",
    "default_handlers",
]


@dataclass(frozen=True, slots=True)
class EventContext:
    """Where one event is being applied: the transaction and the event's place."""

    conn: Connection
    gateway: str
    site: str
    seq: int
    index: int
    now: int


#: what a handler decides, for the decision table to map to effects (a frozen dataclass)
Decision = object
Handler = Callable[[EventContext, Event], Sequence[Decision] | None]
#: the hook that takes a handler's decisions, in the same transaction
DecisionSink = Callable[[EventContext, Sequence[Decision]], None]


@dataclass(frozen=True, slots=True)
class AlarmReported:
    """A device's local alarm, raised (``active``) or cleared at the edge."""

    gateway: str
    site: str
    device: str
    code: str
    severity: str
    active: bool
    message: str
    ts: int


class HandlerFailed(CloudError, RuntimeError):
    """An event handler raised; the cause is chained (``from``)."""

    def __init__(self, kind: str, gateway: str, seq: int, index: int, error: BaseException) -> None:
        super().__init__(
            f"handler of {kind!r} failed on event {index} of {gateway} seq {seq}: {error!r:.500}"
        )
        self.kind = kind
        self.gateway = gateway
        self.seq = seq
        self.index = index


@dataclass(slots=True)
class Dispatched:
    """What one dispatch did."""

    stored: int = 0
    handled: int = 0
    decisions: list[Decision] = field(default_factory=list)


def _alarm(ctx: EventContext, event: Event) -> list[Decision]:
    a = event.attrs
    assert isinstance(a, Alarm)
    return [
        AlarmReported(ctx.gateway, ctx.site, event.device, a.code, a.severity, a.active, a.message, event.ts)
    ]


def default_handlers() -> dict[str, Handler]:
    """The built-in handler of every registered kind."""
    from . import _stock_truth as truth  # it decides through ``_decisions``, which imports this module

    return {
        # the shelf's lanes: counts and states for the stock truth (``_stock_truth``)
        "shelf.pick": truth.lane_change,
        "shelf.putback": truth.lane_change,
        "shelf.restock": truth.lane_change,
        "shelf.lane_state": truth.lane_state,
        "device.alarm": _alarm,
        # item-level inventory (``_inventory``), whose counts feed the stock truth
        "rfid.item": truth.rfid_item,
        "rfid.zone_snapshot": zone_snapshot,
    }


class EventHandlers:
    """The registry: event kind → handler (one per kind), and the decision hook."""

    def __init__(
        self, handlers: Mapping[str, Handler] | None = None, *, decide: DecisionSink | None = None
    ) -> None:
        self._handlers: dict[str, Handler] = {}
        self.decide = decide
        for kind, handler in (default_handlers() if handlers is None else handlers).items():
            self.register(kind, handler)

    def register(self, kind: str, handler: Handler, *, replace: bool = False) -> None:
        """Handle events of ``kind`` (a kind of ``contracts.events.EVENT_KINDS``) with ``handler``."""
        event_kind(kind)  # raises EventError for a kind the contract does not know
        if kind in self._handlers and not replace:
            raise ValueError(f"event kind {kind!r} has a handler already (pass replace=True to change it)")
        self._handlers[kind] = handler

    def handler(self, kind: str) -> Handler | None:
        return self._handlers.get(kind)

    @property
    def kinds(self) -> list[str]:
        return [k.name for k in EVENT_KINDS if k.name in self._handlers]

    def dispatch(
        self, conn: Connection, batches: Sequence[ReadingBatch], events: BatchEvents | None, now: int
    ) -> Dispatched:
        """Store and handle the events of ``batches`` (new ones only; the caller deduplicates)."""
        done = Dispatched()
        todo: list[tuple[ReadingBatch, Sequence[BatchEvent]]] = []
        for b in batches:
            found = events.get((b.gateway, b.seq)) if events else None
            if found is None and b.events:
                found = decode_wire(b)
            if found:
                todo.append((b, found))
        if not todo:
            return done
        sites = _sites(conn, {b.gateway for b, _ in todo})
        rows = [_row(b, e, now) for b, found in todo for e in found]
        conn.execute(insert(DeviceEvent), rows)
        done.stored = len(rows)
        for b, found in todo:
            site = sites.get(b.gateway, b.site)
            for e in found:
                handler = self._handlers.get(e.event.kind)
                if handler is None:
                    continue
                ctx = EventContext(conn, b.gateway, site, b.seq, e.index, now)
                try:
                    decided = handler(ctx, e.event)
                    if decided and self.decide is not None:
                        self.decide(ctx, decided)
                except Exception as exc:
                    if is_unavailable(exc):
                        raise
                    raise HandlerFailed(e.event.kind, b.gateway, b.seq, e.index, exc) from exc
                done.handled += 1
                if decided:
                    done.decisions.extend(decided)
        return done


def decode_wire(batch: ReadingBatch) -> list[BatchEvent]:
    """The events of a batch handed over undecoded (attributes in MessagePack, as every
    copy the cloud keeps is): raises ``EventError`` for a bad one, which fails the call."""
    return [BatchEvent(i, decode_event(w)) for i, w in enumerate(batch.events)]


def _sites(conn: Connection, gateways: Iterable[str]) -> dict[str, str]:
    found = conn.execute(select(Gateway.id, Gateway.site).where(Gateway.id.in_(sorted(gateways))))
    return {g: s for g, s in found}


def _row(b: ReadingBatch, e: BatchEvent, now: int) -> dict[str, Any]:
    ev = e.event
    return {
        "gateway": b.gateway,
        "seq": b.seq,
        "idx": e.index,
        "device": ev.device,
        "kind": ev.kind,
        "ts_ns": ev.ts,
        "attrs": msgspec.to_builtins(ev.attrs),
        "received_ns": now,
    }
