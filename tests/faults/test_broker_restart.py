"""The broker restarted (SIGTERM, persistence written) and killed (SIGKILL, what it held in
memory lost) while a store streams: the gateway keeps reading into its outbox, reconnects
by itself and sends what the broker did not acknowledge; the cloud's persistent session
gets what the broker had queued for it. Every reading is stored, none is applied twice.

(The spine's ``tests/system/test_outage.py`` runs a broker SIGKILL with a gateway SIGKILL
in the default suite; these rows give the figures of each broker fault on its own.)
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from tests.faults._cloud_faults import recovered_after, score, settled_stats
from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import StoreSystem


async def _broker_fault(
    tmp_path: Path, broker: Mosquitto, influxdb: InfluxDB, sig: signal.Signals, down_s: float, times: int
) -> None:
    s = StoreSystem(tmp_path, broker.url, influxdb, f"sqlite:///{tmp_path / 'boh.sqlite3'}")
    await s.start()
    recover: list[float] = []
    try:
        s.play()
        await asyncio.sleep(3)
        assert sum(s.stored().values()) > 0, "readings flow before the fault"
        for _ in range(times):
            broker.stop(sig)  # mid-stream: batches in flight, others queued for the cloud
            await asyncio.sleep(down_s)  # the gateway reads on into its outbox
            broker.start()  # same port, same persistence file, as after a restart
            restarted = time.monotonic()
            recover.append(await recovered_after(s, restarted))
            await asyncio.sleep(1)
        s.pause()
        stored = await s.drain(limit_s=90)
        stats = await settled_stats(s)
    finally:
        await s.close()
    name = "SIGTERM (restart)" if sig == signal.SIGTERM else "SIGKILL"
    fig = score(s, f"broker {name} ×{times}, down {down_s:g} s each", max(recover), stored,
                int(stats["readings_applied"]), duplicates_dropped=stats["duplicates"])  # fmt: skip
    fig.report()
    assert fig.lost == 0, fig
    assert fig.applied_twice == 0, fig
    assert stats["quarantined"] == 0


@pytest.mark.long
async def test_broker_restarted_three_times_loses_nothing_and_applies_once(
    tmp_path: Path, own_mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    await _broker_fault(tmp_path, own_mosquitto, influxdb, signal.SIGTERM, down_s=3, times=3)


@pytest.mark.long
async def test_broker_killed_three_times_loses_nothing_and_applies_once(
    tmp_path: Path, own_mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    await _broker_fault(tmp_path, own_mosquitto, influxdb, signal.SIGKILL, down_s=3, times=3)
