"""An in-memory BatchApplier + StatusRecorder for ingest tests (the seam's fake).

Dedup on (gateway, seq); the watermark of a gateway is the highest seq such that every
seq up to it is applied or below the gateway's ``floor``.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Sequence

from bohsense.cloud.ports import ApplyOutcome, BatchEvent, BatchEvents, QuarantineItem
from bohsense.contracts.schema import GatewayStatus, ReadingBatch


class MemoryApplier:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.applied: dict[str, dict[int, ReadingBatch]] = defaultdict(dict)
        self.watermarks: dict[str, int] = defaultdict(int)
        self.quarantined: list[QuarantineItem] = []
        self.statuses: list[GatewayStatus] = []
        self.calls = 0
        self.fail_next = 0  # make the next N apply calls raise, as a broken database would
        self.delay_s = 0.0  # make each apply call this slow, as a busy database would
        self.batches_per_call: list[int] = []
        #: the decoded events of each applied batch, by (gateway, seq)
        self.events: dict[tuple[str, int], list[BatchEvent]] = {}

    def apply_batches(
        self, batches: Sequence[ReadingBatch], events: BatchEvents | None = None
    ) -> ApplyOutcome:
        if self.delay_s:
            time.sleep(self.delay_s)
        with self.lock:
            self.batches_per_call.append(len(batches))
            self.calls += 1
            if self.fail_next:
                self.fail_next -= 1
                raise ConnectionError("database is down")
            applied = duplicates = readings = n_events = 0
            touched: set[str] = set()
            for b in batches:
                touched.add(b.gateway)
                seen = self.applied[b.gateway]
                if b.seq in seen or b.seq <= self.watermarks[b.gateway]:
                    duplicates += 1
                    continue
                seen[b.seq] = b
                if events and (b.gateway, b.seq) in events:
                    self.events[(b.gateway, b.seq)] = list(events[(b.gateway, b.seq)])
                    n_events += len(events[(b.gateway, b.seq)])
                applied += 1
                readings += len(b.readings)
                wm = max(self.watermarks[b.gateway], b.floor - 1)
                while wm + 1 in seen:
                    wm += 1
                self.watermarks[b.gateway] = wm
            marks = {g: self.watermarks[g] for g in touched}
            return ApplyOutcome(applied, duplicates, readings, marks, events_applied=n_events)

    def settled(self, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        with self.lock:
            return {(g, s) for g, s in keys if s in self.applied[g] or s <= self.watermarks[g]}

    def quarantine(self, items: Sequence[QuarantineItem]) -> int:
        with self.lock:
            self.quarantined.extend(items)
            return len(items)

    def record_status(self, status: GatewayStatus) -> None:
        with self.lock:
            self.statuses.append(status)

    def seqs(self, gateway: str) -> set[int]:
        with self.lock:
            return set(self.applied[gateway])

    def readings(self, gateway: str) -> int:
        with self.lock:
            return sum(len(b.readings) for b in self.applied[gateway].values())
