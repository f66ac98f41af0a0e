"""Registry trust through the whole cloud service on a real Mosquitto: a gateway the catalog
does not list is held, not attributed; registering it through the API applies what was held."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from bohsense.cloud.service import CloudService
from bohsense.cloud.settings import CloudSettings
from bohsense.contracts.codec import encode
from bohsense.contracts.schema import GatewayStatus, Reading, ReadingBatch
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import readings_topic, status_topic
from tests.cloud.boh.factory import catalog
from tests.cloud.ingest._harness import publish, until
from tests.cloud.tsdb._data import unique
from tests.support.services import Mosquitto


async def test_an_unknown_gateway_is_held_until_registered(own_mosquitto: Mosquitto, tmp_path: Path) -> None:
    # a broker of its own: statuses other tests left retained on a shared one would be
    # further unknown gateways here
    mosquitto = own_mosquitto
    path = tmp_path / "catalog.json"
    data = catalog()
    data["locations"][0]["lanes"] = [{"gateway": "gw-t1", "device": "shelf-01.lane-1"}]
    path.write_text(json.dumps(data))
    settings = CloudSettings(
        broker_url=mosquitto.url,
        client_id=unique("reg"),
        tsdb_url=f"sqlite:///{tmp_path}/ts.db",
        database_url=f"sqlite:///{tmp_path}/boh.db",
        catalog=path,
        api_port=0,
    )
    service = CloudService(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    async with asyncio.timeout(30):
        await service.ready.wait()
    assert service.worker is not None
    async with asyncio.timeout(15):
        await service.worker.connected.wait()
    rogue = unique("gw-rogue")
    t0 = now_ns() - 10**10
    held = ReadingBatch(rogue, 1, t0, [Reading("shelf-09.lane-1", "units", t0, 3.0)], site="store-t1")
    status = GatewayStatus(gateway=rogue, state="online", ts=t0, site="store-t1", version="1")
    await publish(mosquitto, [(status_topic(rogue), encode(status)), (readings_topic(rogue), encode(held))])
    await until(lambda: service.stats().get("mqtt_acks", 0) >= 2, what="both messages committed")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.api_port}/api/v1") as http:
        (pending,) = (await http.get("/gateways", params={"registration": "pending"})).json()
        assert (pending["id"], pending["site"], pending["claimed_site"]) == (rogue, "", "store-t1")
        (q,) = (await http.get("/quarantine", params={"reason": "unknown-gateway"})).json()
        assert q["gateway"] == rogue
        assert (await http.get("/stock")).json()[0]["units"] is None  # nothing attributed to the store
        r = await http.put(f"/catalog/gateways/{rogue}", json={"site": "store-t1"})
        assert r.json()["action"] == "updated"
        lanes = [
            {"gateway": "gw-t1", "device": "shelf-01.lane-1"},
            {"gateway": rogue, "device": "shelf-09.lane-1"},
        ]
        body = {
            "site": "store-t1",
            "sku": "COLA",
            "location": "aisle-1/shelf-1",
            "min": 10,
            "target": 40,
            "lanes": lanes,
        }
        assert (await http.put("/catalog/locations", json=body)).status_code == 200
        assert (await http.get("/stock")).json()[0]["units"] is None  # still held: not released yet
        r = await http.post(f"/catalog/gateways/{rogue}/release", json={})
        assert r.json() == {"gateway": rogue, "released": 1}
        assert (await http.get("/quarantine", params={"reason": "unknown-gateway"})).json() == []
        assert (await http.get("/stock")).json()[0]["units"] == 3.0
    stop.set()
    async with asyncio.timeout(20):
        assert await task == 0
