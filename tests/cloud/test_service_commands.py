"""Commands through the running service on a Mosquitto with a small packet limit: one that
would not fit is refused 422 before it is stored, and the cloud's broker connection
(which Mosquitto drops for an oversized packet) stays up."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import httpx
import pytest

from bohsense.cloud.service import CloudService
from bohsense.cloud.settings import CloudSettings
from bohsense.contracts.codec import decode_command
from bohsense.contracts.schema import GatewayStatus
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import cmd_topic
from tests.cloud.ingest._harness import until
from tests.cloud.tsdb._data import unique
from tests.support.services import Mosquitto

PACKET_LIMIT = 4096


class SmallPacketMosquitto(Mosquitto):
    def _config(self) -> str:
        return super()._config().replace("max_packet_size 2097152", f"max_packet_size {PACKET_LIMIT}")


@pytest.fixture
def small_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = SmallPacketMosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.stop()


async def test_a_command_over_the_brokers_packet_limit_is_refused_and_the_link_stays(
    small_broker: Mosquitto, tmp_path: Path
) -> None:
    settings = CloudSettings(
        broker_url=small_broker.url,
        client_id=unique("svc"),
        tsdb_url=f"sqlite:///{tmp_path}/ts.db",
        database_url=f"sqlite:///{tmp_path}/boh.db",
        api_port=0,
        command_max_bytes=PACKET_LIMIT,
    )
    service = CloudService(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    gw = unique("gw")
    received: list[bytes] = []
    try:
        async with asyncio.timeout(30):
            await service.ready.wait()
        assert service.worker is not None
        await until(service.worker.connected.is_set, what="the ingest client connected")
        service.core.record_status(GatewayStatus(gateway=gw, state="online", ts=now_ns()))
        async with aiomqtt.Client("127.0.0.1", small_broker.port) as gateway:
            await gateway.subscribe(cmd_topic(gw), qos=1)

            async def listen() -> None:
                async for message in gateway.messages:
                    received.append(bytes(message.payload))  # type: ignore[arg-type]

            listener = asyncio.create_task(listen())
            url = f"http://127.0.0.1:{service.api_port}/api/v1/gateways/{gw}/commands"
            async with httpx.AsyncClient(timeout=10) as http:
                too_big = {f"note{i}": "x" * 1000 for i in range(5)}
                r = await http.post(url, json={"command": "tare", "args": too_big})
                assert r.status_code == 422, r.text
                assert f"exceeds the {PACKET_LIMIT}-byte limit" in r.json()["detail"]
                assert (await http.get(url)).json() == []  # nothing stored
                fits = {f"note{i}": "x" * 1000 for i in range(3)}
                r = await http.post(url, json={"command": "tare", "args": fits})
                assert r.status_code == 202, r.text
                await until(lambda: len(received) == 1, what="the command at the gateway")
                assert decode_command(received[0]).args == fits
            listener.cancel()
        assert service.worker.stats.reconnects == 0  # Mosquitto never dropped the cloud
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
