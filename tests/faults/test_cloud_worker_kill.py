"""SIGKILL of the cloud service while batches flow, and a restart: what the killed worker
had received but not committed stays unacknowledged at the broker and comes again; what it
had committed is dropped as a duplicate by (gateway, seq). Every reading is stored, and
every batch applied exactly once."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from pathlib import Path

import pytest

from bohsense.demo import LANES, SENSOR, SHELF, DemoStore, gateway_toml
from bohsense.simulators import ConditionDevice, Lane, ShelfDevice
from tests.faults._cloud_faults import CloudProcess, recovered_after, score
from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import StoreSystem, wait_for


class ChildCloudStore(StoreSystem):
    """The store system with the cloud service as a child process (``cloud``)."""

    cloud: CloudProcess

    async def start(self) -> ChildCloudStore:
        self.store = DemoStore(self.duration_s, gateway=self.gateway, site=f"site-{self.gateway}")
        (self.workdir / "dev").mkdir(parents=True, exist_ok=True)
        catalog = self.workdir / "catalog.json"
        catalog.write_text(json.dumps(self.store.catalog()))
        self.influx.create_database(self.db)
        self.shelf = ShelfDevice(
            SHELF, lanes=[Lane(unit_weight_g=w, units=u, tare_g=t) for _, _, w, t, u, *_ in LANES], seed=3
        )
        self.sensor = ConditionDevice(SENSOR, seed=3)
        for device in self.devices:
            device.pause()
            device.start(link=self.workdir / "dev" / device.device_id)
        self.cloud = CloudProcess(
            self.workdir,
            {
                "BOHSENSE_CLOUD_BROKER_URL": self.broker_url,
                "BOHSENSE_CLOUD_CLIENT_ID": f"cloud-{self.gateway}",
                "BOHSENSE_CLOUD_TSDB_URL": f"{self.influx.url}?db={self.db}",
                "BOHSENSE_CLOUD_DATABASE_URL": self.database_url,
                "BOHSENSE_CLOUD_CATALOG": str(catalog),
            },
        )
        await self.cloud.start()
        (self.workdir / "gateway.toml").write_text(
            gateway_toml(
                self.store,
                broker_url=self.broker_url,
                outbox=self.workdir / "outbox.sqlite3",
                shelf_port=self.workdir / "dev" / SHELF,
                sensor_port=self.workdir / "dev" / SENSOR,
            )
        )
        self.start_edge()
        await wait_for(
            lambda: all(d.ground_truth()["rx_frames"].get("TimeSyncRequest") for d in self.devices),
            limit_s=30,
            what="the gateway to open both devices",
        )
        return self

    async def close(self) -> None:
        if self.edge is not None and self.edge.poll() is None:
            self.edge.kill()
            self.edge.wait(5)
        self.cloud.stop()
        for device in self.devices:
            device.stop()


async def _idle(cloud: CloudProcess) -> bool:
    return (await cloud.ingest())["pending_messages"] == 0


def applied_seqs(db: Path, gateway: str) -> int:
    """Seqs of ``gateway`` the BOH core has applied: all up to its watermark, and those above."""
    with sqlite3.connect(db) as c:
        (mark,) = c.execute("SELECT watermark FROM gateways WHERE id = ?", (gateway,)).fetchone()
        (above,) = c.execute("SELECT count(*) FROM ingest_seq WHERE gateway = ?", (gateway,)).fetchone()
    return int(mark) + int(above)


async def _kill_cloud(tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB, kills: int) -> None:
    db = tmp_path / "boh.sqlite3"
    s = ChildCloudStore(tmp_path, mosquitto.url, influxdb, f"sqlite:///{db}")
    await s.start()
    rng = random.Random(7)
    recover: list[float] = []
    try:
        s.play()
        await asyncio.sleep(3)
        assert sum(s.stored().values()) > 0, "readings flow before the fault"
        s.cloud.kill()
        await asyncio.sleep(3)  # a backlog builds up at the broker and the gateway
        for _ in range(kills):
            await s.cloud.start()  # same client id: its persistent session redelivers
            # a random point while the backlog's batches are being committed
            await asyncio.sleep(rng.uniform(0.05, 0.5))
            s.cloud.kill()
            seqs_at_kill = applied_seqs(db, s.gateway)
        restarted = time.monotonic()
        await s.cloud.start()
        recover.append(await recovered_after(s, restarted))
        await asyncio.sleep(2)
        s.pause()
        stored = await s.drain(limit_s=90)
        # InfluxDB holds a chunk before the BOH core applies it: wait until nothing is pending
        await wait_for(lambda: _idle(s.cloud), limit_s=30, what="the last chunk applied", every_s=0.1)
        await asyncio.sleep(0.5)
        ingest = await s.cloud.ingest()
        seqs_final = applied_seqs(db, s.gateway)
    finally:
        await s.close()
    # the last worker applied exactly the batches the killed one had not committed
    twice = seqs_at_kill + ingest["batches_applied"] - seqs_final
    fig = score(s, f"cloud service SIGKILL ×{kills + 1}, {kills} while draining", max(recover), stored, 0,
                batches_applied_twice=twice, duplicates_dropped=ingest["duplicates"])  # fmt: skip
    fig.applied_twice = twice
    fig.report()
    assert fig.lost == 0, fig
    assert twice == 0, fig
    assert ingest["quarantined"] == 0


async def test_cloud_service_killed_mid_run_loses_nothing_and_applies_once(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    await _kill_cloud(tmp_path, mosquitto, influxdb, kills=1)


@pytest.mark.long
async def test_cloud_service_killed_again_and_again(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    await _kill_cloud(tmp_path, mosquitto, influxdb, kills=10)
