"""The running cloud service tags points with the catalog's site of each gateway, not the
site a batch claims; a gateway the catalog does not list gets no ``site`` tag."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bohsense.cloud.service import CloudService
from bohsense.cloud.settings import CloudSettings
from bohsense.contracts.codec import encode
from bohsense.contracts.schema import Reading, ReadingBatch
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import readings_topic
from tests.cloud.boh.factory import SITE, catalog
from tests.cloud.ingest._harness import publish, until
from tests.cloud.tsdb._data import unique
from tests.support.services import InfluxDB, Mosquitto


async def test_points_carry_the_catalogs_site(
    own_mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path
) -> None:
    gw, rogue = unique("gw-site"), unique("gw-rogue")
    (tmp_path / "catalog.json").write_text(json.dumps(catalog(gw)))
    db = influxdb.create_database(unique("sites"))
    settings = CloudSettings(
        broker_url=own_mosquitto.url,
        client_id=unique("sites"),
        tsdb_url=f"influx1://127.0.0.1:{influxdb.port}/{db}",
        database_url=f"sqlite:///{tmp_path}/boh.db",
        catalog=tmp_path / "catalog.json",
        api_port=0,
    )
    service = CloudService(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    async with asyncio.timeout(30):
        await service.ready.wait()
        assert service.worker is not None
        await service.worker.connected.wait()
    t0 = now_ns() - 10**10
    batches = [
        ReadingBatch(gw, 1, t0, [Reading("shelf-01.lane-1", "weight_g", t0, 250.0)], site="elsewhere"),
        ReadingBatch(rogue, 1, t0, [Reading("shelf-01.lane-1", "weight_g", t0, 9.0)], site=SITE),
    ]
    await publish(own_mosquitto, [(readings_topic(b.gateway), encode(b)) for b in batches])
    await until(lambda: service.stats().get("mqtt_acks", 0) >= 2, what="both batches committed")
    out = influxdb.query('SELECT last("weight_g") FROM "shelf" GROUP BY "gateway", "site", "lane"', db)
    tags = sorted(
        (s["tags"]["gateway"], s["tags"]["site"], s["tags"]["lane"]) for s in out["results"][0]["series"]
    )  # type: ignore[index]
    # the catalog's site, not the claimed one; a rogue's claim to a real store labels nothing
    assert tags == sorted([(gw, SITE, "lane-1"), (rogue, "", "lane-1")])
    stop.set()
    async with asyncio.timeout(20):
        assert await task == 0
