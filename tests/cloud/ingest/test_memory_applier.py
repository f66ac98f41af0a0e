"""The fake must behave as the seam says, or the worker tests prove nothing."""

from __future__ import annotations

from tests.cloud.ingest._memory import MemoryApplier
from tests.cloud.tsdb._data import make_batch


def test_dedup_and_watermark_with_gaps_and_floor() -> None:
    a = MemoryApplier()
    out = a.apply_batches([make_batch("g", 1, 2), make_batch("g", 3, 2), make_batch("g", 1, 2)])
    assert (out.applied, out.duplicates, out.readings_applied, dict(out.watermarks)) == (2, 1, 4, {"g": 1})
    out = a.apply_batches([make_batch("g", 5, 1, floor=5)])  # seqs 2 and 4 will never come
    assert dict(out.watermarks) == {"g": 5}
    assert a.apply_batches([make_batch("g", 2, 1)]).duplicates == 1  # below the watermark
