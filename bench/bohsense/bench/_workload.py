"""The benchmark's messages: ReadingBatch of 100 readings each, msgpack, from many gateways.

Every reading has its own (series, ts), so the points counted in InfluxDB equal the
readings sent. Event times lie in the last hour: every one passes the time checks.
"""

from __future__ import annotations

import time

from bohsense.contracts.codec import encode
from bohsense.contracts.schema import Reading, ReadingBatch
from bohsense.contracts.topics import readings_topic

__all__ = ["make_workload"]

METRICS = ("temp_c", "vib_rms_mm_s")


def make_workload(
    messages: int, *, per_message: int = 100, gateways: int = 20, devices: int = 10, first_seq: int = 1
) -> list[tuple[str, bytes]]:
    """``messages`` (topic, payload) pairs, seqs ``first_seq``, +1, … per gateway, round robin."""
    base = time.time_ns() - 3600 * 10**9
    now = time.time_ns()
    gw_ids = [f"bench-gw-{g:03d}" for g in range(gateways)]
    topics = [readings_topic(g) for g in gw_ids]
    out: list[tuple[str, bytes]] = []
    i = 0
    for m in range(messages):
        g = m % gateways
        readings = []
        for k in range(per_message):
            readings.append(
                Reading(f"dev-{k % devices}", METRICS[k % 2], base + i * 1000, float(i % 1000) / 10)
            )
            i += 1
        batch = ReadingBatch(gateway=gw_ids[g], seq=m // gateways + first_seq, sent=now, readings=readings)
        out.append((topics[g], encode(batch)))
    return out
