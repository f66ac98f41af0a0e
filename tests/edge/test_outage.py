"""Outages against a broker of the test's own: stopped mid-stream, killed, restarted."""

from __future__ import annotations

import asyncio
import collections
import signal
from collections.abc import Callable
from pathlib import Path

from bohsense.edge.agent import EdgeAgent
from bohsense.edge.settings import load_settings
from tests.edge.conftest import Cloud, gateway_id, synthetic, until, write_config
from tests.support.services import Mosquitto


def _unique_readings(cloud: Cloud) -> collections.Counter[tuple[str, str, int]]:
    with cloud.lock:
        return collections.Counter(
            (r.device, r.metric, r.ts) for b in cloud.batches.values() for r in b.readings
        )


async def _outage(
    own_mosquitto: Mosquitto, cloud_factory: Callable[..., Cloud], tmp_path: Path, sig: int
) -> None:
    gw = gateway_id("outage")
    ticks = 150  # 3 s at 50 Hz: the broker is down for about a third of it
    cfg = write_config(
        tmp_path / "gw.toml",
        gw,
        own_mosquitto.url,
        tmp_path / "outbox.sqlite3",
        devices=synthetic(devices=4, rate_hz=50, limit=ticks),
    )
    # a message the broker accepted but lost in its restart (or queued before the
    # subscriber's session came back) is recovered by the resend timeout: keep it short
    cfg.write_text(cfg.read_text().replace("[outbox]", "resend_after_s = 2\n[outbox]"))
    cloud = cloud_factory(own_mosquitto.url, gw, ack=True)
    agent = EdgeAgent(load_settings(cfg, env={}))
    task = asyncio.create_task(agent.run())
    await until(lambda: agent.counters().get("published", 0) >= 3, 30, "publishing")
    await asyncio.to_thread(own_mosquitto.stop, sig)
    await until(lambda: agent.counters()["connected"] == 0, 30, "the agent to notice the outage")
    await until(lambda: agent.counters()["outbox_depth"] >= 5, 30, "batches held in the outbox")
    await asyncio.to_thread(own_mosquitto.start)
    expected = 4 * 2 * ticks
    await until(lambda: agent.counters()["driver.syn.readings"] == expected, 30, "the driver to finish")
    await until(lambda: cloud.readings() == expected, 30, f"{expected} readings at the cloud")
    await until(lambda: agent.counters()["outbox_depth"] == 0, 30, "the outbox drained by acks")
    agent.stop()
    await asyncio.wait_for(task, 15)
    c = agent.counters()
    assert c["reconnects"] >= 1
    assert c["dropped_readings"] == 0
    assert c["buffer_overflow"] == 0
    seqs = cloud.seqs()
    assert seqs == list(range(1, c["next_seq"])), "every batch arrived, no gap"
    counts = _unique_readings(cloud)
    assert len(counts) == expected, "every reading arrived"
    assert max(counts.values()) == 1, "no reading in two different batches"


async def test_broker_stopped_mid_stream_loses_nothing(
    own_mosquitto: Mosquitto, cloud_factory: Callable[..., Cloud], tmp_path: Path
) -> None:
    await _outage(own_mosquitto, cloud_factory, tmp_path, signal.SIGTERM)


async def test_broker_killed_mid_stream_loses_nothing(
    own_mosquitto: Mosquitto, cloud_factory: Callable[..., Cloud], tmp_path: Path
) -> None:
    await _outage(own_mosquitto, cloud_factory, tmp_path, signal.SIGKILL)
