"""A whole store on real parts: simulated devices on ptys → gateway (child process) →
Mosquitto → cloud service (in this event loop) → InfluxDB 1.x + BOH core → HTTP API."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bohsense.cloud import CloudService, CloudSettings
from bohsense.demo import LANES, SENSOR, SHELF, DemoStore, gateway_toml
from bohsense.simulators import ConditionDevice, Lane, ShelfDevice
from tests.support.services import InfluxDB

RAW_SERIES = [(f"{SHELF}.lane-{i + 1}", "weight_g") for i in range(len(LANES))] + [
    (SENSOR, "temp_c"),
    (SENSOR, "vib_rms_mm_s"),
]


async def wait_for(predicate: Callable[[], Any], *, limit_s: float, what: str, every_s: float = 0.1) -> Any:
    """Poll ``predicate`` (sync or async) until it returns a truthy value."""
    deadline = time.monotonic() + limit_s
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {limit_s} s waiting for {what}")
        await asyncio.sleep(every_s)


@dataclass
class StoreSystem:
    workdir: Path
    broker_url: str
    influx: InfluxDB
    database_url: str
    duration_s: float = 20.0
    #: CloudSettings fields to set beyond the harness's own
    settings: dict[str, Any] = field(default_factory=dict)
    gateway: str = field(default_factory=lambda: f"gw-{uuid.uuid4().hex[:8]}")
    db: str = field(default_factory=lambda: f"ts_{uuid.uuid4().hex[:8]}")
    store: DemoStore = field(init=False)
    shelf: ShelfDevice = field(init=False)
    sensor: ConditionDevice = field(init=False)
    service: CloudService = field(init=False)
    edge: subprocess.Popen[bytes] | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[int] | None = None
    t0: float = 0.0

    # -- start ---------------------------------------------------------------------------

    async def start(self) -> StoreSystem:
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
        settings = CloudSettings(
            broker_url=self.broker_url,
            client_id=f"cloud-{self.gateway}",
            tsdb_url=f"{self.influx.url}?db={self.db}",
            database_url=self.database_url,
            catalog=catalog,
            api_port=0,
            **self.settings,
        )
        self.service = CloudService(settings)
        self._task = asyncio.create_task(self.service.run(self._stop))
        await wait_for(
            lambda: self.service.ready.is_set() or self._task.done(), limit_s=30, what="cloud service"
        )
        assert self.service.ready.is_set(), f"cloud service failed: {self._task.exception()!r}"
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

    @property
    def devices(self) -> tuple[ShelfDevice, ConditionDevice]:
        return (self.shelf, self.sensor)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.service.api_port}/api/v1"

    def start_edge(self) -> None:
        log = open(self.workdir / "edge.log", "ab")  # noqa: SIM115 - lives as long as the child
        self.edge = subprocess.Popen(
            [sys.executable, "-m", "bohsense", "edge", "run", "--config", str(self.workdir / "gateway.toml")],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )

    def kill_edge(self) -> None:
        assert self.edge is not None
        self.edge.send_signal(signal.SIGKILL)
        self.edge.wait(10)

    def stop_edge(self) -> int:
        assert self.edge is not None
        if self.edge.poll() is None:
            self.edge.send_signal(signal.SIGTERM)
            try:
                self.edge.wait(20)
            except subprocess.TimeoutExpired:
                self.edge.kill()
                self.edge.wait(5)
                raise AssertionError("the gateway did not stop within 20 s of SIGTERM") from None
        return int(self.edge.returncode)

    # -- script --------------------------------------------------------------------------

    def play(self) -> None:
        """Resume the devices and schedule the store's shoppers and fault from now."""
        self.t0 = time.monotonic()
        for device in self.devices:
            device.resume()
        base = self.shelf.elapsed()
        for at, lane, units in self.store.picks():
            self.shelf.pick(lane, units, at=base + at)
        self.sensor.inject_fault(
            "bearing",
            start_s=self.sensor.elapsed() + self.store.fault_start_s,
            ramp_s=self.store.fault_ramp_s,
        )

    def pause(self) -> None:
        for device in self.devices:
            device.pause()

    def resume(self) -> None:
        for device in self.devices:
            device.resume()

    # -- scoring -------------------------------------------------------------------------

    def expected(self) -> dict[tuple[str, str], int]:
        n_shelf = self.shelf.ground_truth()["samples_sent"]
        n_sensor = self.sensor.ground_truth()["samples_sent"]
        return {key: (n_sensor if key[0] == SENSOR else n_shelf) for key in RAW_SERIES}

    def stored(self) -> dict[tuple[str, str], int]:
        """Points per raw series in InfluxDB, counted by InfluxDB itself."""
        out = self.influx.query(
            'SELECT count(*) FROM "shelf", "condition", "reader", "device" GROUP BY "device", "lane"',
            db=self.db,
        )
        counts: dict[tuple[str, str], int] = {}
        for series in out["results"][0].get("series", []):  # type: ignore[index,union-attr]
            tags = series["tags"]
            device = f"{tags['device']}.{tags['lane']}" if tags.get("lane") else tags["device"]
            for column, value in zip(series["columns"][1:], series["values"][0][1:], strict=True):
                if value is not None:  # count_<metric>
                    counts[(device, column.removeprefix("count_"))] = int(value)
        return counts

    async def drain(self, limit_s: float = 60) -> dict[tuple[str, str], int]:
        """Wait until every raw reading the devices produced is in InfluxDB."""
        expected = self.expected()

        def done() -> bool:
            stored = self.stored()
            return all(stored.get(k, 0) >= v for k, v in expected.items())

        try:
            await wait_for(done, limit_s=limit_s, what=f"InfluxDB to hold {expected}", every_s=0.5)
        except AssertionError as exc:
            short = {
                k: (self.stored().get(k, 0), v) for k, v in expected.items() if self.stored().get(k, 0) < v
            }
            raise AssertionError(f"{exc}; short (stored, produced): {short}") from None
        return self.stored()

    async def get(self, path: str, **params: Any) -> Any:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.get(self.api + path, params=params)
            r.raise_for_status()
            return r.json()

    # -- stop ----------------------------------------------------------------------------

    async def close(self) -> None:
        if self.edge is not None and self.edge.poll() is None:
            self.edge.kill()
            self.edge.wait(5)
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 30)
        for device in self.devices:
            device.stop()
