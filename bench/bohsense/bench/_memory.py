"""An in-memory BatchApplier for benchmarking ingest without a BOH database.

Used only when the BOH core is not installed; it does what the seam asks (dedup on
(gateway, seq), watermarks with ``floor``) and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

from bohsense.cloud.ports import ApplyOutcome, QuarantineItem
from bohsense.contracts.schema import ReadingBatch

__all__ = ["MemoryApplier"]


class MemoryApplier:
    def __init__(self) -> None:
        self.seen: dict[str, set[int]] = {}
        self.watermarks: dict[str, int] = {}
        self.quarantined = 0

    def apply_batches(self, batches: Sequence[ReadingBatch]) -> ApplyOutcome:
        applied = duplicates = readings = 0
        touched: set[str] = set()
        for b in batches:
            touched.add(b.gateway)
            seen = self.seen.setdefault(b.gateway, set())
            wm = self.watermarks.get(b.gateway, 0)
            if b.seq in seen or b.seq <= wm:
                duplicates += 1
                continue
            seen.add(b.seq)
            applied += 1
            readings += len(b.readings)
            wm = max(wm, b.floor - 1)
            while wm + 1 in seen:
                wm += 1
                seen.discard(wm)
            self.watermarks[b.gateway] = wm
        return ApplyOutcome(applied, duplicates, readings, {g: self.watermarks[g] for g in touched})

    def settled(self, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        return {(g, s) for g, s in keys if s in self.seen.get(g, ()) or s <= self.watermarks.get(g, 0)}

    def quarantine(self, items: Sequence[QuarantineItem]) -> int:
        self.quarantined += len(items)
        return len(items)
