"""The seam between cloud ingest and the BOH core.

Ingest validates payloads and writes readings to the time-series store; then it hands
the same batches to a ``BatchApplier`` which, in ONE database transaction, records
each ``(gateway, seq)``, skips any batch already recorded (a duplicate), applies the
readings of the new ones to BOH state (stock levels, rules → alerts, work orders,
replenishment proposals, audit) and advances each gateway's watermark. Only after
``apply_batches`` returns does ingest acknowledge the MQTT messages and publish
``CloudAck(upto=watermark)`` to the gateway. Methods are synchronous (SQLAlchemy);
ingest calls them from a worker thread.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bohsense.cloud.errors import CloudError
from bohsense.contracts.events import Event
from bohsense.contracts.schema import GatewayStatus, ReadingBatch

__all__ = [
    "ApplyOutcome",
    "BatchApplier",
    "BatchEvent",
    "BatchEvents",
    "CoreUnavailable",
    "LatestPoint",
    "QuarantineItem",
    "StatusRecorder",
    "TimeSeriesQuery",
]


class CoreUnavailable(CloudError):
    """The BOH core's database cannot take the call now: unreachable, locked, out of
    resources, or refusing this role a privilege. Nothing in the call's data is wrong, so
    ingest retries it (messages stay unacknowledged) and never quarantines for it. Any
    other exception from the seam may be caused by the data and is isolated per message.
    """


@dataclass(frozen=True, slots=True)
class QuarantineItem:
    """A payload that was rejected, kept for inspection with the reason."""

    topic: str
    payload: bytes
    reason: str  # short, sortable: "malformed", "schema", "oversized", "bad-time", "topic", …
    detail: str  # the precise message
    received_ns: int
    gateway: str = ""  # from the topic, when it could be parsed


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """One accepted event of a batch, decoded by kind (``contracts.events.decode_event``).

    ``index`` is the event's position in the batch as its gateway sent it: with the
    batch's ``(gateway, seq)`` it names the event for good, even when events before it
    were quarantined.
    """

    index: int
    event: Event


#: the decoded events of batches, by their ``(gateway, seq)``
BatchEvents = Mapping[tuple[str, int], Sequence[BatchEvent]]


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    applied: int = 0  # batches applied now
    duplicates: int = 0  # batches skipped because (gateway, seq) was applied before
    readings_applied: int = 0
    #: gateway -> highest seq such that every seq <= it is applied (or below the floor)
    watermarks: Mapping[str, int] = field(default_factory=dict)
    #: new batches of gateways the catalog does not know: recorded (their seqs count for the
    #: watermark) and held in quarantine (reason ``unknown-gateway``) until registered
    held: int = 0
    #: events of the batches applied now (stored, and handled by their kind's handler)
    events_applied: int = 0


class BatchApplier(Protocol):
    def apply_batches(
        self, batches: Sequence[ReadingBatch], events: BatchEvents | None = None
    ) -> ApplyOutcome:
        """Apply the new batches; ``events`` holds the decoded events of the batches that
        carry any, by ``(gateway, seq)`` (the first copy of a seq wins, as it does for
        readings). A batch with events but no entry has its events decoded by the core
        (a batch released from quarantine, or from a caller that does not decode)."""
        ...

    def settled(self, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        """Which of these ``(gateway, seq)`` were applied before (or lie below a watermark):
        ingest writes the readings of those to the time series no more, so that a replay
        with other content can change neither the BOH nor the time series."""
        ...

    def quarantine(self, items: Sequence[QuarantineItem]) -> int:
        """Keep ``items`` for inspection; return how many were stored (the rest were over a quota)."""
        ...


class StatusRecorder(Protocol):
    def record_status(self, status: GatewayStatus) -> None:
        """Record a gateway's birth / goodbye / last will (newest ``ts`` wins)."""


@dataclass(frozen=True, slots=True)
class LatestPoint:
    gateway: str
    device: str
    metric: str
    ts: int
    value: float


class TimeSeriesQuery(Protocol):
    """What the HTTP API asks of the time-series store (every backend answers the same)."""

    async def latest(
        self,
        *,
        gateways: Collection[str] | None = None,
        device: str | None = None,
        metric: str | None = None,
    ) -> list[LatestPoint]:
        """The newest (by event time) point of each matching (gateway, device, metric) series.

        ``gateways`` scopes the answer (None: every gateway; empty: none, e.g. a site
        with no gateway): a device name is only unique within its gateway.
        """

    async def series(
        self,
        *,
        gateway: str,
        device: str,
        metric: str,
        start_ns: int,
        end_ns: int,
        every_s: int | None = None,
    ) -> list[tuple[int, float]]:
        """Points of the series (gateway, device, metric) in [start_ns, end_ns), or their
        mean per ``every_s`` window."""
