"""The ingest worker against a real Mosquitto and a real InfluxDB 1.x."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiomqtt
import pytest

from bohsense.cloud.ingest import IngestWorker
from bohsense.cloud.tsdb import Influx1Store, open_store
from bohsense.contracts.codec import Encoding, decode_ack, encode
from bohsense.contracts.schema import MAX_PAYLOAD_BYTES, GatewayStatus, Reading
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import ack_topic, readings_topic, status_topic
from tests.cloud.ingest._harness import as_messages, config, influx_count, publish, running, until
from tests.cloud.ingest._memory import MemoryApplier
from tests.cloud.tsdb._data import make_batch, unique
from tests.support.services import InfluxDB, Mosquitto


async def retained_ack(broker: Mosquitto, gateway: str) -> int:
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.subscribe(ack_topic(gateway), qos=1)
        async with asyncio.timeout(10):
            async for msg in client.messages:
                return decode_ack(msg.payload).upto
    raise AssertionError("no ack")


@pytest.mark.parametrize("protocol", [4, 5])
async def test_good_batches_are_stored_applied_acknowledged(
    own_mosquitto: Mosquitto, influxdb: InfluxDB, protocol: int
) -> None:
    db = influxdb.create_database(unique("ingest"))
    store = open_store(f"influx1://127.0.0.1:{influxdb.port}/{db}")
    applier, gw = MemoryApplier(), unique("gw")
    batches = [make_batch(gw, seq, 50, t0=now_ns() - 10**10 + seq * 10**8) for seq in range(1, 41)]
    async with running(
        store, applier, config(own_mosquitto, unique("ingest"), mqtt_protocol=protocol)
    ) as worker:
        await publish(own_mosquitto, as_messages(batches), protocol)
        await until(lambda: len(applier.seqs(gw)) == 40, what="40 batches applied")
        await until(lambda: worker.stats.acks_published > 0 and worker.stats.pending_messages == 0)
        s = worker.stats
        assert (s.messages, s.batches, s.readings_stored, s.mqtt_acks) == (40, 40, 2000, 40)
        assert (s.duplicates, s.quarantined, s.storage_retries) == (0, 0, 0)
    assert influx_count(influxdb, db, gw) == 2000
    assert await retained_ack(own_mosquitto, gw) == 40
    await store.close()


async def test_bad_input_is_quarantined_with_reasons_and_the_good_around_it_kept(
    own_mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    db = influxdb.create_database(unique("bad"))
    store = open_store(f"influx1://127.0.0.1:{influxdb.port}/{db}")
    applier, gw, other = MemoryApplier(), unique("gw"), unique("gw")
    topic, now = readings_topic(gw), now_ns()
    good1, good3 = make_batch(gw, 1, 20), make_batch(gw, 3, 20)
    mixed = make_batch(gw, 2, 10)
    mixed = type(mixed)(
        gateway=gw,
        seq=2,
        sent=now,
        readings=[
            *mixed.readings[:5],
            Reading("d", "temp_c", 10**9, 1.0),
            Reading("d", "temp_c", now + 86_400 * 10**9, 2.0),
            *mixed.readings[5:],
        ],
    )
    truncated = encode(make_batch(gw, 9, 5))[:-9]
    oversized = b"\x81" + b"\x00" * MAX_PAYLOAD_BYTES
    wrong_types = json.dumps(
        {"gateway": gw, "seq": "4", "sent": now, "readings": [["d", "m", now, "x"]]}
    ).encode()
    unknown_field = json.dumps(
        {"gateway": gw, "seq": 5, "sent": now, "readings": [["d", "m", now, 1.0]], "zz": 1}
    ).encode()
    msgs = [
        (topic, encode(good1)),
        (topic, b"\x00\xff garbage \x13"),
        (topic, truncated),
        (topic, oversized),
        (topic, wrong_types),
        (topic, unknown_field),
        (topic, b""),
        (topic, encode(mixed, Encoding.JSON)),
        (topic, encode(make_batch(other, 1, 5))),  # another gateway's batch on this topic
        (topic, encode(good1)),  # a duplicate seq
        (status_topic(gw), encode(GatewayStatus(gateway=gw, state="online", ts=now, next_seq=4))),
        (topic, encode(good3)),
    ]
    async with running(store, applier, config(own_mosquitto, unique("ingest"))) as worker:
        await publish(own_mosquitto, msgs)
        await until(lambda: worker.stats.messages == len(msgs) and worker.stats.pending_messages == 0)
        s = worker.stats
        assert dict(s.quarantined_by_reason) == {
            "not-an-object": 1,
            "malformed": 1,
            "oversized": 1,
            "schema": 2,
            "empty": 1,
            "bad-time": 2,
            "topic-mismatch": 1,
        }
        assert s.duplicates == 1
        assert s.readings_stored == 20 + 10 + 20  # a duplicate is not written again
    assert applier.seqs(gw) == {1, 2, 3, 5}  # 5 was refused whole (unknown field): settled, empty
    assert worker.stats.batches_rejected_settled == 1
    assert applier.readings(gw) == 50
    assert applier.seqs(other) == set()
    assert applier.watermarks[gw] == 3
    assert influx_count(influxdb, db, gw) == 50
    assert influx_count(influxdb, db, other) == 0
    by_reason = {i.reason: i for i in applier.quarantined}
    assert by_reason["oversized"].payload == oversized
    assert by_reason["malformed"].payload == truncated
    assert all(i.gateway == gw and i.topic == topic for i in applier.quarantined)
    assert [st.next_seq for st in applier.statuses if st.gateway == gw] == [4]
    await store.close()


async def test_storage_outage_holds_messages_unacknowledged_and_resumes(
    own_mosquitto: Mosquitto, tmp_path: Path
) -> None:
    influx = InfluxDB(tmp_path / "influx").start()
    try:
        db = influx.create_database("outage")
        store = open_store(f"influx1://127.0.0.1:{influx.port}/{db}")
        applier, gw = MemoryApplier(), unique("gw")
        batches = [make_batch(gw, seq, 100, t0=now_ns() - 10**11 + seq * 10**9) for seq in range(1, 31)]
        async with running(
            store, applier, config(own_mosquitto, unique("ingest"), mqtt_protocol=5)
        ) as worker:
            await publish(own_mosquitto, as_messages(batches[:10]))
            await until(lambda: len(applier.seqs(gw)) == 10)
            acks_before = worker.stats.mqtt_acks
            influx.stop()
            await publish(own_mosquitto, as_messages(batches[10:]))
            await until(lambda: worker.stats.storage_retries >= 3, what="storage retries")
            await until(lambda: worker.stats.messages == 30, what="the rest received")
            assert worker.stats.storage_down
            assert worker.stats.mqtt_acks == acks_before  # nothing acknowledged while storage is down
            assert worker.stats.pending_messages == 20
            assert applier.seqs(gw) == set(range(1, 11))  # nothing applied past what is stored
            influx.start()
            await until(lambda: len(applier.seqs(gw)) == 30, what="all applied after recovery")
            await until(lambda: worker.stats.pending_messages == 0)
            assert not worker.stats.storage_down
            assert worker.stats.duplicates == 0
        assert influx_count(influx, db, gw) == 3000
        assert await retained_ack(own_mosquitto, gw) == 30
        await store.close()
    finally:
        influx.stop()


async def test_broker_restart_reconnects_and_loses_nothing(
    own_mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    db = influxdb.create_database(unique("restart"))
    store = open_store(f"influx1://127.0.0.1:{influxdb.port}/{db}")
    applier, gw = MemoryApplier(), unique("gw")
    batches = [make_batch(gw, seq, 10, t0=now_ns() - 10**11 + seq * 10**9) for seq in range(1, 21)]
    async with running(store, applier, config(own_mosquitto, unique("ingest"))) as worker:
        await publish(own_mosquitto, as_messages(batches[:10]))
        await until(lambda: len(applier.seqs(gw)) == 10)
        own_mosquitto.restart()
        await until(lambda: worker.stats.reconnects >= 1 and worker.connected.is_set(), what="reconnect")
        await publish(own_mosquitto, as_messages(batches[10:]))
        await until(lambda: len(applier.seqs(gw)) == 20)
    assert influx_count(influxdb, db, gw) == 200
    await store.close()


async def test_a_failing_boh_core_is_retried_and_nothing_is_acknowledged_before(
    own_mosquitto: Mosquitto, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    applier, gw = MemoryApplier(), unique("gw")
    applier.fail_next = 3
    async with running(store, applier, config(own_mosquitto, unique("ingest"))) as worker:
        await publish(own_mosquitto, as_messages([make_batch(gw, 1, 5)]))
        await until(lambda: applier.seqs(gw) == {1})
        await until(lambda: worker.stats.mqtt_acks == 1)
        assert worker.stats.apply_retries == 3
    assert (
        len(await store.series(gateway=gw, device="dev-1", metric="temp_c", start_ns=0, end_ns=now_ns())) == 5
    )
    await store.close()


async def test_shared_subscription_group(own_mosquitto: Mosquitto, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    applier, gw = MemoryApplier(), unique("gw")
    cfg = config(own_mosquitto, unique("ingest"), mqtt_protocol=5, shared_group="cloud")
    async with running(store, applier, cfg) as worker:
        assert isinstance(worker, IngestWorker)
        await publish(own_mosquitto, as_messages([make_batch(gw, s, 5) for s in (1, 2, 3)]), 5)
        await until(lambda: applier.seqs(gw) == {1, 2, 3})
    await store.close()


async def test_chunks_queued_behind_a_slow_commit_are_committed_together(
    own_mosquitto: Mosquitto, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    applier, gw = MemoryApplier(), unique("gw")
    applier.delay_s = 0.15
    cfg = config(own_mosquitto, unique("ingest"), batch_max_readings=5)  # one message per chunk
    async with running(store, applier, cfg) as worker:
        await publish(own_mosquitto, as_messages([make_batch(gw, s, 5) for s in range(1, 31)]))
        await until(lambda: applier.seqs(gw) == set(range(1, 31)), what="30 batches applied")
        await until(lambda: worker.stats.mqtt_acks == 30)
        assert worker.stats.commits < 30
        assert max(applier.batches_per_call) > 1
        assert applier.watermarks[gw] == 30
    await store.close()


async def test_a_batch_the_store_refuses_is_quarantined_and_its_neighbours_kept(
    own_mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    db = influxdb.create_database(unique("refuse"))
    gw = unique("gw")
    t2001 = 978_307_200 * 10**9  # 2001-01-01: a valid event time, in a shard of its own
    # a string-typed `temp_c` in the 2001 shard: InfluxDB refuses floats there (field type conflict)
    seed = Influx1Store(influxdb.url, db)
    await seed.write_lines(f'condition,device=x,gateway=x temp_c="text" {t2001}')
    await seed.close()
    store = open_store(f"influx1://127.0.0.1:{influxdb.port}/{db}")
    applier = MemoryApplier()
    good1, good3 = make_batch(gw, 1, 10), make_batch(gw, 3, 10)
    refused = make_batch(gw, 2, 10, t0=t2001 + 10**9)
    async with running(store, applier, config(own_mosquitto, unique("ingest"), batch_max_ms=200)) as worker:
        await publish(own_mosquitto, as_messages([good1, refused, good3]))
        await until(lambda: worker.stats.mqtt_acks == 3)
        assert dict(worker.stats.quarantined_by_reason) == {"storage-rejected": 1}
    assert applier.seqs(gw) == {1, 2, 3}  # seq 2 is accounted for (quarantined), the watermark moves
    assert applier.readings(gw) == 20
    assert applier.watermarks[gw] == 3
    (item,) = applier.quarantined
    assert "field type conflict" in item.detail
    assert item.payload == encode(refused)
    assert influx_count(influxdb, db, gw) == 20
    await store.close()
