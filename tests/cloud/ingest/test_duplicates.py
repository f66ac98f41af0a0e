"""A duplicate (gateway, seq) with other content changes neither the BOH nor the time series,
and a status from the far future cannot freeze a gateway's state (real Mosquitto, the real
BOH core on SQLite and PostgreSQL, the time series on SQLite and InfluxDB 1.x)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from bohsense.cloud.boh import BohCore
from bohsense.cloud.tsdb import open_store
from bohsense.contracts.schema import GatewayStatus, Reading, ReadingBatch
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import status_topic
from tests.cloud.ingest._harness import as_messages, config, publish, running, until
from tests.cloud.tsdb._data import unique
from tests.support.services import InfluxDB, Mosquitto


@pytest.fixture(params=["sqlite", "postgresql"])
def core(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BohCore]:
    url = (
        f"sqlite:///{tmp_path / 'boh.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    )
    boh = BohCore(url, auto_register=True)  # no catalog: every gateway is trusted
    boh.migrate()
    yield boh
    boh.close()


def _batch(gw: str, seq: int, t0: int, *values: float) -> ReadingBatch:
    readings = [Reading(f"{gw}.dev", "temp_c", t0 + i, v) for i, v in enumerate(values)]
    return ReadingBatch(gateway=gw, seq=seq, sent=now_ns(), readings=readings)


@pytest.mark.parametrize("tsdb", ["sqlite", "influx1"])
async def test_a_duplicate_seq_with_other_content_changes_nothing(
    own_mosquitto: Mosquitto, core: BohCore, tmp_path: Path, tsdb: str, request: pytest.FixtureRequest
) -> None:
    if tsdb == "sqlite":
        url = f"sqlite:///{tmp_path}/ts.db"
    else:
        influx: InfluxDB = request.getfixturevalue("influxdb")
        url = f"influx1://127.0.0.1:{influx.port}/{influx.create_database(unique('dup'))}"
    store = open_store(url)
    await store.setup()
    gw, t0 = unique("gw"), now_ns() - 60 * 10**9
    async with running(store, core, config(own_mosquitto, unique("ingest"))) as worker:  # type: ignore[arg-type]
        await publish(own_mosquitto, as_messages([_batch(gw, 1, t0, 1.0)]))
        await until(lambda: worker.stats.mqtt_acks == 1)
        # a replay of seq 1 with other content, and within one chunk a seq twice
        await publish(
            own_mosquitto,
            as_messages(
                [_batch(gw, 1, t0, 99.0, 98.0), _batch(gw, 2, t0 + 10, 2.0), _batch(gw, 2, t0 + 10, 77.0)]
            ),
        )
        await until(lambda: worker.stats.mqtt_acks == 4)
        assert worker.stats.duplicates == 2
    points = await store.series(
        gateway=gw, device=f"{gw}.dev", metric="temp_c", start_ns=t0 - 1, end_ns=t0 + 100
    )
    assert points == [(t0, 1.0), (t0 + 10, 2.0)]
    assert core.get_gateway(gw).watermark == 2
    await store.close()


async def test_a_status_from_the_far_future_cannot_freeze_a_gateway(
    own_mosquitto: Mosquitto, core: BohCore, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    gw = unique("gw")
    cfg = config(own_mosquitto, unique("ingest"), max_future_ns=300 * 10**9)
    future = GatewayStatus(gateway=gw, state="online", ts=2**63 - 1)
    async with running(store, core, cfg) as worker:  # type: ignore[arg-type]
        await publish(own_mosquitto, [(status_topic(gw), msgspec.json.encode(future))])
        await until(lambda: worker.stats.status_messages == 1)
        g = core.get_gateway(gw)
        assert g.last_status_ns is not None
        assert g.last_status_ns <= now_ns() + 300 * 10**9, "clamped to now + the skew allowance"
    # once the allowance has passed, a real status wins again: simulate it with a later clock
    late = GatewayStatus(gateway=gw, state="lost", ts=g.last_status_ns + 1)
    core.record_status(late)
    assert core.get_gateway(gw).state == "lost"
    await store.close()
