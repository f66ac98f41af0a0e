"""A pipeline that cannot work says so: a subscription the broker refuses or downgrades is
not taken for a working one, and a stalled pipeline (messages waiting unacknowledged, BOH
calls failing) is reported with its age."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from bohsense.cloud.ingest import IngestWorker, SubscriptionRefused, check_granted
from bohsense.cloud.tsdb import open_store
from tests.cloud.ingest._harness import as_messages, config, publish, running, until
from tests.cloud.ingest._memory import MemoryApplier
from tests.cloud.tsdb._data import make_batch, unique
from tests.support.services import Mosquitto


class QoS0Mosquitto(Mosquitto):
    """A Mosquitto configured with ``max_qos 0``: it grants every subscription at QoS 0."""

    def _config(self) -> str:
        return super()._config() + "max_qos 0\n"


@pytest.fixture
def qos0_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = QoS0Mosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.stop()


def test_suback_failure_codes_and_downgrades_are_refusals() -> None:
    check_granted("f", [ReasonCode(PacketTypes.SUBACK, identifier=1)])
    check_granted("f", (1,))
    for codes in ([ReasonCode(PacketTypes.SUBACK, identifier=0x87)], (0x80,), [ReasonCode(PacketTypes.SUBACK, identifier=0)], (0,), []):  # fmt: skip
        with pytest.raises(SubscriptionRefused) as exc:
            check_granted("bohsense/v1/gw/+/readings", codes)
        assert "bohsense/v1/gw/+/readings" in str(exc.value)


@pytest.mark.parametrize("protocol", [4, 5])
async def test_a_downgraded_subscription_is_refused_and_reported(
    qos0_mosquitto: Mosquitto, tmp_path: Path, protocol: int
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    worker = IngestWorker(
        store, MemoryApplier(), config(qos0_mosquitto, unique("ingest"), mqtt_protocol=protocol)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await until(lambda: worker.stats.subscription_error, what="the refusal recorded")
        assert "QoS 0" in worker.stats.subscription_error
        assert not worker.connected.is_set()
        assert not worker.stats.subscribed
        (problem,) = worker.problems()
        assert "not subscribed" in problem
        assert "QoS 0" in problem
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await task
    await store.close()


async def test_a_stalled_pipeline_is_reported_with_its_age(own_mosquitto: Mosquitto, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    applier = MemoryApplier()
    cfg = config(own_mosquitto, unique("ingest"), stall_after_s=0.5, retry_max_s=0.1)
    async with running(store, applier, cfg) as worker:
        assert worker.stats.subscribed
        assert worker.problems() == []
        applier.fail_next = 10**9
        await publish(own_mosquitto, as_messages([make_batch(unique("gw"), 1, 5)]))
        await until(lambda: len(worker.problems()) == 2, what="both stall signs")
        oldest, failing = worker.problems()
        assert oldest.startswith("oldest unacknowledged message waits for")
        assert failing.startswith("BOH core calls have failed for")
        applier.fail_next = 0
        await until(lambda: worker.stats.mqtt_acks == 1)
        assert worker.problems() == []
        assert worker.stats.oldest_unacked_ns == 0
    await store.close()


async def test_the_broker_password_never_reaches_the_log(
    own_mosquitto: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    url = f"mqtt://ops:pw-s3cret-x@127.0.0.1:{own_mosquitto.port}"
    caplog.set_level("DEBUG")
    async with running(
        store, MemoryApplier(), config(own_mosquitto, unique("ingest"), broker_url=url)
    ) as worker:
        assert worker.stats.subscribed
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert "pw-s3cret-x" not in logged
    assert f"127.0.0.1:{own_mosquitto.port}" in logged, "the broker is named"
    await store.close()
