"""The one interface every time-series backend implements."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from bohsense.cloud.ports import LatestPoint
from bohsense.contracts.schema import ReadingBatch

__all__ = ["TimeSeriesStore"]


class TimeSeriesStore(Protocol):
    """Readings in, points out: ``write`` for ingest, ``latest``/``series`` for the API.

    Writes are idempotent: a point is identified by (gateway, device, metric, ts), and
    writing it again replaces it, so a redelivered batch never doubles a series.
    """

    #: where the store lives, without secrets (for logs and health output)
    description: str

    async def setup(self) -> None:
        """Create the database / table if missing; raise StorageUnavailable if unreachable."""

    async def write(self, batches: Sequence[ReadingBatch]) -> int:
        """Store every reading of ``batches``; return the number of points written.

        Raises StorageUnavailable (retry later) or StorageRejected (bad data, with the reason).
        """

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

    async def close(self) -> None:
        """Release connections; the store is not used afterwards."""
