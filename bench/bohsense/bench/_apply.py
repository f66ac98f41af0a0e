"""``bohsense bench apply``: the BOH core's share of ingest, ``BohCore.apply_batches``.

The worker hands the core calls of 50 batches × 100 readings. Three workloads: every
reading from a device the catalog does not map (the bulk of a fleet's data: weights,
temperatures); 30 % of readings feeding lanes (``units``) and asset rules; and a replay
of already-applied batches (duplicates). The baseline, in the same process on the same
calls, is the simplest stateful consumer there is: in-memory dedup on (gateway, seq)
plus a dict of the latest value per series, touched once per reading — so the ratio
says what the durable, transactional core with its rules costs on top of that.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from typing import Any

from bohsense.bench._memory import MemoryApplier
from bohsense.contracts.schema import Reading, ReadingBatch

__all__ = ["run_apply"]

T0 = 1_750_000_000 * 10**9
PER_CALL, PER_BATCH = 50, 100


def _catalog(gw: str) -> dict[str, Any]:
    return {
        "sites": [{"id": "s"}],
        "gateways": [{"id": gw, "site": "s"}],
        "skus": [{"sku": f"k{i}", "pack_size": 6} for i in range(40)],
        "assets": [
            {
                "id": f"a{i}",
                "site": "s",
                "gateway": gw,
                "device": f"vib-{i}",
                "rules": [
                    {
                        "condition": "vib-high",
                        "metric": "vib",
                        "limit": 7,
                        "clear_below": 4,
                        "min_duration_s": 30,
                    }
                ],
            }
            for i in range(10)
        ],
        "locations": [
            {
                "site": "s",
                "sku": f"k{i}",
                "location": f"l{i}",
                "min": 5,
                "target": 40,
                "lanes": [{"gateway": gw, "device": f"shelf-{i}.lane-1"}],
            }
            for i in range(40)
        ],
    }


def _calls(gw: str, mapped: bool, n_calls: int) -> list[list[ReadingBatch]]:
    rnd = random.Random(1)
    seq = t = 0
    out = []
    for _ in range(n_calls):
        call = []
        for _ in range(PER_CALL):
            seq += 1
            rs = []
            for _ in range(PER_BATCH):
                t += 1_000_000
                x = rnd.random()
                if mapped and x < 0.1:
                    rs.append(
                        Reading(
                            f"shelf-{rnd.randrange(40)}.lane-1", "units", T0 + t, float(rnd.randrange(3, 40))
                        )
                    )
                elif mapped and x < 0.3:
                    rs.append(Reading(f"vib-{rnd.randrange(10)}", "vib", T0 + t, rnd.uniform(1, 6)))
                else:
                    rs.append(Reading(f"dev-{rnd.randrange(200)}", "temp_c", T0 + t, 20.0))
            call.append(ReadingBatch(gateway=gw, seq=seq, sent=T0, readings=rs))
        out.append(call)
    return out


class _LatestInMemory:
    """The baseline: dedup in memory and the latest value of every series in a dict."""

    def __init__(self) -> None:
        self.dedup = MemoryApplier()
        self.latest: dict[tuple[str, str, str], float] = {}

    def apply_batches(self, batches: Sequence[ReadingBatch]) -> None:
        self.dedup.apply_batches(batches)
        latest = self.latest
        for b in batches:
            g = b.gateway
            for r in b.readings:
                latest[(g, r.device, r.metric)] = r.value


def _rate(applier: Any, calls: Sequence[Sequence[ReadingBatch]]) -> float:
    t = time.perf_counter()
    n = sum(len(b.readings) for call in calls for b in call)
    for call in calls:
        applier.apply_batches(call)
    return n / (time.perf_counter() - t)


def run_apply(database_url: str | None, n_calls: int = 200) -> dict[str, Any]:
    from bohsense.cloud.boh import BohCore

    with tempfile.TemporaryDirectory(prefix="bohsense-bench-apply-") as tmp:
        results: dict[str, Any] = {}
        for name, mapped in (("unmapped", False), ("mapped_30pct", True)):
            url = database_url or f"sqlite:///{tmp}/{name}.db"
            core = BohCore(url)
            core.migrate()
            gateway = f"gw-bench-{uuid.uuid4().hex[:8]}"  # fresh seqs, even in a database used before
            core.load_catalog(_catalog(gateway))
            calls = _calls(gateway, mapped, n_calls + 5)
            for call in calls[:5]:  # warm-up: device registration
                core.apply_batches(call)
            memory = _LatestInMemory()
            for call in calls[:5]:
                memory.apply_batches(call)
            base = _rate(memory, calls[5:])
            rate = _rate(core, calls[5:])
            dup = _rate(core, calls[5:])  # the same calls again: all duplicates
            core.close()
            print(
                f"[bench apply] {name}: {rate:,.0f} readings/s ({1e6 / rate:.2f} µs/reading); "
                f"in-memory baseline {base:,.0f}; duplicates {dup:,.0f} readings/s",
                file=sys.stderr,
            )
            results[name] = {
                "readings_per_s": round(rate),
                "baseline_readings_per_s": round(base),
                "ratio": round(rate / base, 3),
                "duplicate_readings_per_s": round(dup),
            }
    return {
        "database": (database_url or "sqlite").split("://")[0],
        "per_call": f"{PER_CALL}x{PER_BATCH}",
        **results,
    }
