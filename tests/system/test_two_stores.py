"""Two stores on one cloud, as a retailer runs them: a Mosquitto with logins and the
shipped ACL (deploy/mosquitto.acl), two gateways whose devices have the same names, a
two-store catalog. Commands settle on both, a gateway killed with SIGKILL is shown
``lost`` and alerted as silent, and each store's series holds only its own readings."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bohsense.cloud import CloudService, CloudSettings
from bohsense.demo import ASSET, LANES, SENSOR, SHELF, DemoStore, gateway_toml
from bohsense.simulators import ConditionDevice, Lane, ShelfDevice
from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import wait_for

ROOT = Path(__file__).resolve().parents[2]
GATEWAY_SILENCE_S = 15.0


@dataclass
class Store:
    workdir: Path
    gateway: str
    password: str = field(default_factory=lambda: "gw-" + secrets.token_urlsafe(18))
    demo: DemoStore = field(init=False)
    shelf: ShelfDevice = field(init=False)
    sensor: ConditionDevice = field(init=False)
    edge: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.demo = DemoStore(120.0, gateway=self.gateway, site=f"site-{self.gateway}")
        seed = sum(map(ord, self.gateway))
        self.shelf = ShelfDevice(
            SHELF, lanes=[Lane(unit_weight_g=w, units=u, tare_g=t) for _, _, w, t, u, *_ in LANES], seed=seed
        )
        self.sensor = ConditionDevice(SENSOR, seed=seed)

    def catalog(self) -> dict[str, Any]:
        """This store's part of the fleet catalog: its asset ids made unique per store."""
        cat = self.demo.catalog()
        for asset in cat["assets"]:
            asset["id"] = f"{ASSET}-{self.gateway}"
        return cat

    def start_devices(self) -> None:
        (self.workdir / "dev").mkdir(parents=True, exist_ok=True)
        for device in (self.shelf, self.sensor):
            device.start(link=self.workdir / "dev" / device.device_id)

    def start_edge(self, broker: Mosquitto) -> None:
        toml = gateway_toml(
            self.demo,
            broker_url=broker.url,
            outbox=self.workdir / "outbox.sqlite3",
            shelf_port=self.workdir / "dev" / SHELF,
            sensor_port=self.workdir / "dev" / SENSOR,
        )
        # the broker ACL grants a gateway its own topics by username: the gateway id
        toml = toml.replace("[broker]\n", f'[broker]\nusername = "{self.gateway}"\n', 1)
        (self.workdir / "gateway.toml").write_text(toml)
        log = open(self.workdir / "edge.log", "ab")  # noqa: SIM115 - lives as long as the child
        env = {**os.environ, "BOHSENSE_EDGE_BROKER_PASSWORD": self.password}
        self.edge = subprocess.Popen(
            [sys.executable, "-m", "bohsense", "edge", "run", "--config", str(self.workdir / "gateway.toml")],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env,
        )  # fmt: skip

    def connections(self) -> int:
        return (self.workdir / "edge.log").read_text().count("connected to broker")

    def stop(self) -> None:
        if self.edge is not None and self.edge.poll() is None:
            self.edge.kill()
            self.edge.wait(5)
        for device in (self.shelf, self.sensor):
            device.stop()


@dataclass
class Fleet:
    broker: Mosquitto
    service: CloudService
    stores: list[Store]
    task: asyncio.Task[int]
    stop: asyncio.Event

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.service.api_port}/api/v1"

    async def get(self, path: str, **params: Any) -> Any:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.get(self.api + path, params=params)
            r.raise_for_status()
            return r.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(self.api + path, json=body)
            assert r.status_code < 300, r.text
            return r.json()


@pytest.fixture
async def fleet(tmp_path: Path, influxdb: InfluxDB) -> AsyncIterator[Fleet]:
    stores = [Store(tmp_path / name, f"store-{name}") for name in ("north", "south")]
    cloud_password = "cloud-" + secrets.token_urlsafe(18)
    broker = Mosquitto(tmp_path / "broker")
    broker.users = {"bohsense-cloud": cloud_password, **{s.gateway: s.password for s in stores}}
    broker.acl_file = ROOT / "deploy" / "mosquitto.acl"
    broker.start()
    catalog: dict[str, list[Any]] = {}
    for s in stores:
        for key, entries in s.catalog().items():
            catalog.setdefault(key, []).extend(entries)
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    db = influxdb.create_database(f"fleet_{secrets.token_hex(4)}")
    settings = CloudSettings(
        broker_url=f"mqtt://bohsense-cloud:{cloud_password}@127.0.0.1:{broker.port}",
        client_id="fleet-cloud",
        tsdb_url=f"{influxdb.url}?db={db}",
        database_url=f"sqlite:///{tmp_path / 'boh.sqlite3'}",
        catalog=tmp_path / "catalog.json",
        api_port=0,
        sweep_interval_s=0.5,
        gateway_silence_s=GATEWAY_SILENCE_S,
    )
    service = CloudService(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await wait_for(lambda: service.ready.is_set() or task.done(), limit_s=30, what="the cloud service")
    assert service.ready.is_set(), f"cloud service failed: {task.exception()!r}"
    for s in stores:
        s.start_devices()
        s.start_edge(broker)
    try:
        yield Fleet(broker, service, stores, task, stop)
    finally:
        for s in stores:
            s.stop()
        stop.set()
        await asyncio.wait_for(task, 30)
        broker.stop()


async def test_two_stores_share_a_cloud_through_the_shipped_acl(fleet: Fleet) -> None:
    north, south = fleet.stores

    async def state(store: Store) -> str:
        return str((await fleet.get(f"/gateways/{store.gateway}"))["state"])

    for s in fleet.stores:
        await wait_for(lambda s=s: _is(state(s), "online"), limit_s=30, what=f"{s.gateway} online")

    # commands go out and their results come back through the ACL, on both gateways
    sent = {
        s.gateway: await fleet.post(
            f"/gateways/{s.gateway}/commands", {"command": "identify", "args": {"device": SENSOR}}
        )
        for s in fleet.stores
    }
    for gateway, cmd in sent.items():
        done = await wait_for(
            lambda cmd=cmd: _settled(fleet, cmd["id"]), limit_s=20, what=f"the command result of {gateway}"
        )
        assert done["state"] == "succeeded", done

    # each store's series is its own, although both stores name their devices alike
    start = time.time_ns() - 60 * 10**9

    async def series(store: Store) -> list[Any]:
        out = await fleet.get(
            "/readings/series", gateway=store.gateway, device=SENSOR, metric="temp_c", start=start,
            end=time.time_ns() + 10**9,
        )  # fmt: skip
        return list(out["points"])

    await wait_for(lambda: _both(series(north), series(south)), limit_s=30, what="readings from both stores")
    n_points, s_points = await series(north), await series(south)
    assert {ts for ts, _ in n_points}.isdisjoint({ts for ts, _ in s_points})
    assert len(n_points) <= north.sensor.ground_truth()["samples_sent"]
    assert len(s_points) <= south.sensor.ground_truth()["samples_sent"]

    # a gateway that crashes is shown lost, and alerted as silent; the other store is untouched
    assert south.edge is not None
    south.edge.send_signal(signal.SIGKILL)
    south.edge.wait(10)
    await wait_for(lambda: _is(state(south), "lost"), limit_s=20, what="the killed gateway shown lost")

    async def silent() -> list[dict[str, Any]]:
        alerts = await fleet.get("/alerts")
        return [a for a in alerts if a["condition"] == "gateway-silent"]

    (alert,) = await wait_for(
        silent, limit_s=GATEWAY_SILENCE_S + 30, what="a gateway-silent alert", every_s=0.5
    )
    assert (alert["subject"], alert["site"]) == (f"gateway:{south.gateway}", south.demo.site)
    assert await state(north) == "online"
    assert north.connections() == 1, "the ACL never dropped the live gateway"
    assert south.connections() == 1


async def _is(value: Any, expected: str) -> bool:
    return bool(await value == expected)


async def _both(a: Any, b: Any) -> bool:
    return bool(await a) and bool(await b)


async def _settled(fleet: Fleet, cid: str) -> dict[str, Any] | None:
    got = dict(await fleet.get(f"/commands/{cid}"))
    return got if got["state"] != "sent" else None
