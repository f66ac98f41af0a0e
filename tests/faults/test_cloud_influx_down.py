"""InfluxDB goes away under a store at full rate: frozen (SIGSTOP: every write hangs until
its timeout) or killed and restarted on the same port. Ingest stops taking messages, retries
with backoff, and when InfluxDB is back every reading is stored once: 0 lost, 0 applied twice."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.faults._cloud_faults import recovered_after, score, settled_stats
from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import StoreSystem


def gateway_row(db: Path, gateway: str) -> dict[str, int]:
    with sqlite3.connect(db) as c:
        row = c.execute(
            "SELECT dropped, dropped_in_doubt, watermark, next_seq FROM gateways WHERE id = ?", (gateway,)
        ).fetchone()
    return dict(zip(("dropped", "dropped_in_doubt", "watermark", "next_seq"), row, strict=True))


async def _influx_down(tmp_path: Path, broker: Mosquitto, how: str, outage_s: float) -> None:
    influx = InfluxDB(tmp_path / "influxdb").start()  # this test's own: it is stopped
    s = StoreSystem(tmp_path, broker.url, influx, f"sqlite:///{tmp_path / 'boh.sqlite3'}")
    await s.start()
    try:
        s.play()
        await asyncio.sleep(3)
        assert sum(s.stored().values()) > 0, "readings flow before the fault"
        if how == "sigstop":
            assert influx.proc is not None
            influx.proc.send_signal(signal.SIGSTOP)
        else:
            influx.stop(signal.SIGKILL)
        down_at = time.monotonic()
        await asyncio.sleep(min(5.0, outage_s / 2))
        acks_mid = s.service.stats()["mqtt_acks"]
        await asyncio.sleep(outage_s - (time.monotonic() - down_at))
        during = s.service.stats()
        if how == "sigstop":
            assert influx.proc is not None
            influx.proc.send_signal(signal.SIGCONT)
        else:
            influx.start()  # same port and data directory, as after a restart
        restored = time.monotonic()
        # ingest stopped taking messages: nothing was acknowledged to the broker meanwhile
        assert during["mqtt_acks"] == acks_mid, "messages were acknowledged while InfluxDB was down"
        assert during["storage_retries"] >= 1, during
        assert during["storage_down"], during
        recover_s = await recovered_after(s, restored)
        await asyncio.sleep(2)  # live data after the fault
        s.pause()
        stored = await s.drain(limit_s=90)
        stats = await settled_stats(s)
    finally:
        await s.close()
        if influx.proc is not None:
            influx.proc.send_signal(signal.SIGCONT)
        influx.stop()
    extra = {
        "storage_retries": stats["storage_retries"],
        "duplicates": stats["duplicates"],
        "quarantined": stats["quarantined_by_reason"],
        "rejected_settled": stats["batches_rejected_settled"],
        "gateway": gateway_row(tmp_path / "boh.sqlite3", s.gateway),
        "series_beyond_produced": {
            f"{d}/{m}": n - s.expected().get((d, m), 0) for (d, m), n in stored.items()
        },
    }
    fig = score(s, f"InfluxDB {how} {outage_s:.0f} s", recover_s, stored, stats["readings_applied"], **extra)
    fig.report()
    assert fig.lost == 0, fig
    assert fig.applied_twice == 0, fig
    assert stats["quarantined"] == 0


@pytest.mark.long  # ~20 s; docs/reliability.md has its figures
async def test_influxdb_frozen_briefly_loses_nothing(tmp_path: Path, own_mosquitto: Mosquitto) -> None:
    await _influx_down(tmp_path, own_mosquitto, "sigstop", outage_s=12)  # beyond the 10 s write timeout


@pytest.mark.long
async def test_influxdb_killed_briefly_loses_nothing(tmp_path: Path, own_mosquitto: Mosquitto) -> None:
    await _influx_down(tmp_path, own_mosquitto, "kill", outage_s=12)


@pytest.mark.long
async def test_influxdb_down_ten_minutes_loses_nothing(tmp_path: Path, own_mosquitto: Mosquitto) -> None:
    await _influx_down(tmp_path, own_mosquitto, "kill", outage_s=600)
