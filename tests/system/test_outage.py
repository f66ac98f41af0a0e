"""Outage: the broker is killed mid-stream and comes back, the gateway is killed with
SIGKILL while it holds a backlog and is restarted: every reading arrives exactly once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import StoreSystem, wait_for


async def test_broker_crash_and_gateway_kill9_lose_nothing_and_apply_nothing_twice(
    tmp_path: Path, own_mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    s = StoreSystem(tmp_path, own_mosquitto.url, influxdb, f"sqlite:///{tmp_path / 'boh.sqlite3'}")
    await s.start()
    try:
        s.play()
        await asyncio.sleep(4)
        before = sum(s.stored().values())
        assert before > 0, "readings flow before the outage"

        own_mosquitto.stop(signal.SIGKILL)  # the broker dies mid-stream
        await asyncio.sleep(3)  # the gateway keeps reading into its outbox
        s.pause()
        await asyncio.sleep(1)  # everything read is in the outbox now
        s.kill_edge()  # SIGKILL with a backlog that never reached the broker
        synced = {d.device_id: d.ground_truth()["rx_frames"].get("TimeSyncRequest", 0) for d in s.devices}
        own_mosquitto.start()  # same port, as after a restart
        s.start_edge()  # same outbox: it replays the backlog
        # the devices resume once the new gateway has opened them (samples sent while no
        # gateway process holds the port are the power cut's loss, not this test's)
        await wait_for(
            lambda: all(
                d.ground_truth()["rx_frames"].get("TimeSyncRequest", 0) > synced[d.device_id]
                for d in s.devices
            ),
            limit_s=30,
            what="the restarted gateway to open both devices",
        )
        s.resume()
        await asyncio.sleep(4)
        s.pause()
        stored = await s.drain(limit_s=90)
    finally:
        await s.close()

    expected = s.expected()
    assert {k: stored[k] for k in expected} == expected
    stats = s.service.stats()
    distinct = sum(stored.values())  # includes the gateway's derived `units` readings
    assert stats["readings_applied"] == distinct, "no batch was applied twice"
    assert stats["quarantined"] == 0
