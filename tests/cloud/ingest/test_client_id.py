"""Several cloud workers and their MQTT client ids: the default is unique per worker (host and
API port); a worker whose session another client takes over stops with the reason when the
broker says so (MQTT 5, 0x8E), and reports the clash when the broker only drops it."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from bohsense.cloud.ingest import IngestWorker
from bohsense.cloud.ingest._health import LinkError, taken_over
from bohsense.cloud.settings import CloudSettings
from bohsense.cloud.tsdb import open_store
from tests.cloud.ingest._harness import config, until
from tests.cloud.ingest._memory import MemoryApplier
from tests.cloud.tsdb._data import unique
from tests.support.services import Mosquitto


def test_the_default_client_id_is_unique_per_worker_and_stable_across_restarts() -> None:
    a = CloudSettings(api_port=8080).ingest_config().client_id
    b = CloudSettings(api_port=8081).ingest_config().client_id
    assert a != b
    assert a == CloudSettings(api_port=8080).ingest_config().client_id, "a restart keeps its session"
    assert socket.gethostname() in a
    assert CloudSettings(client_id="ingest-7").ingest_config().client_id == "ingest-7"


def test_a_session_taken_over_is_recognised_from_the_disconnect_reason() -> None:
    """MQTT 5 brokers that say why (0x8E) make the worker stop with ``ClientIdInUse``."""
    assert taken_over(LinkError("x", rc=ReasonCode(PacketTypes.DISCONNECT, identifier=0x8E)))
    assert not taken_over(LinkError("x", rc=ReasonCode(PacketTypes.DISCONNECT, identifier=0x80)))
    assert not taken_over(LinkError("x", rc=7))
    assert not taken_over(None)


@pytest.mark.parametrize("protocol", [4, 5])
async def test_two_workers_on_one_client_id_are_reported_not_hidden(
    own_mosquitto: Mosquitto, tmp_path: Path, protocol: int
) -> None:
    """A broker that only closes the older connection (Mosquitto 2.0.11, either protocol):
    the workers take the session from each other; each reports it as a problem (/health)."""
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    cid = unique("ingest")
    workers = [
        IngestWorker(store, MemoryApplier(), config(own_mosquitto, cid, mqtt_protocol=protocol))
        for _ in range(2)
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        await until(
            lambda: any(cid in p for w in workers for p in w.problems()),
            limit_s=30,
            what="the clash reported",
        )
        (problem,) = [p for w in workers for p in w.problems() if cid in p][:1]
        assert "another client uses client id" in problem
    finally:
        stop.set()
        async with asyncio.timeout(15):
            await asyncio.gather(*tasks, return_exceptions=True)
    await store.close()
