"""Reading batches for cloud tests."""

from __future__ import annotations

import uuid

from bohsense.contracts.schema import Reading, ReadingBatch
from bohsense.contracts.timeutil import now_ns


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_batch(
    gateway: str,
    seq: int,
    n: int = 10,
    *,
    device: str = "dev-1",
    metric: str = "temp_c",
    t0: int | None = None,
    step_ns: int = 1_000_000,
    floor: int = 0,
) -> ReadingBatch:
    t0 = now_ns() - 60 * 10**9 if t0 is None else t0
    readings = [Reading(device, metric, t0 + i * step_ns, float(seq * 1000 + i) + 0.5) for i in range(n)]
    return ReadingBatch(gateway=gateway, seq=seq, sent=now_ns(), readings=readings, floor=floor)
