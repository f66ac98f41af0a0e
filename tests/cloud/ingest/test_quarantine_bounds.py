"""On a real Mosquitto: a flood of rejects from one gateway is rate-limited per gateway (and
counted), and a batch rejected whole whose (gateway, seq) can be read is settled, so the
retained CloudAck covers it and the gateway's outbox deletes it instead of resending it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from bohsense.cloud.boh import BohCore
from bohsense.cloud.tsdb import open_store
from bohsense.contracts.codec import decode_ack
from bohsense.contracts.schema import MAX_PAYLOAD_BYTES
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import ack_topic, readings_topic
from tests.cloud.ingest._harness import as_messages, config, publish, running, until
from tests.cloud.ingest._memory import MemoryApplier
from tests.cloud.tsdb._data import make_batch, unique
from tests.support.services import Mosquitto


@pytest.fixture(params=["sqlite", "postgresql"])
def core(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BohCore]:
    url = (
        f"sqlite:///{tmp_path / 'boh.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    )
    boh = BohCore(url, auto_register=True)  # no catalog: every gateway is trusted
    boh.migrate()
    yield boh
    boh.close()


async def retained_ack(broker: Mosquitto, gateway: str) -> int:
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.subscribe(ack_topic(gateway), qos=1)
        async with asyncio.timeout(10):
            async for msg in client.messages:
                return decode_ack(msg.payload).upto
    raise AssertionError("no ack")


async def test_a_flood_of_rejects_is_rate_limited_per_gateway(
    own_mosquitto: Mosquitto, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    applier = MemoryApplier()
    noisy, quiet, good = unique("gw"), unique("gw"), unique("gw")
    flood = [(readings_topic(noisy), b"\x00junk %d" % i) for i in range(60)]
    cfg = config(own_mosquitto, unique("ingest"), quarantine_rate_per_s=2.0, quarantine_burst=10)
    async with running(store, applier, cfg) as worker:
        await publish(
            own_mosquitto,
            [*flood, (readings_topic(quiet), b"\x00junk"), *as_messages([make_batch(good, 1, 5)])],
        )
        await until(lambda: worker.stats.mqtt_acks == 62, what="every message acknowledged")
        stats = worker.stats
    kept = [i for i in applier.quarantined if i.gateway == noisy]
    assert 10 <= len(kept) < 20, len(kept)
    assert stats.quarantine_dropped == 60 - len(kept)
    assert stats.quarantine_dropped_by_reason == {"not-an-object": 60 - len(kept)}
    assert [i.gateway for i in applier.quarantined].count(quiet) == 1, "another gateway has its own allowance"
    assert applier.seqs(good) == {1}
    await store.close()


async def test_a_batch_rejected_whole_is_settled_by_seq_and_acknowledged(
    own_mosquitto: Mosquitto, core: BohCore, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    gw, now = unique("gw"), now_ns()
    bad_value = json.dumps({"gateway": gw, "seq": 1, "sent": now, "readings": [["d", "temp_c", now, "x"]]})
    oversized = json.dumps(
        {
            "gateway": gw,
            "seq": 2,
            "sent": now,
            "readings": [["d", "temp_c", now, 1.0]],
            "pad": "p" * MAX_PAYLOAD_BYTES,
        }
    )
    not_ours = json.dumps(
        {"gateway": "someone-else", "seq": 4, "sent": now, "readings": [["d", "m", now, "x"]]}
    )
    messages = [
        (readings_topic(gw), bad_value.encode()),
        (readings_topic(gw), oversized.encode()),
        *as_messages([make_batch(gw, 3, 5)]),
        (readings_topic(gw), not_ours.encode()),  # another gateway's seq is never settled from this topic
    ]
    async with running(store, core, config(own_mosquitto, unique("ingest"))) as worker:  # type: ignore[arg-type]
        await publish(own_mosquitto, messages)
        await until(lambda: worker.stats.mqtt_acks == 4, what="every message acknowledged")
        assert worker.stats.batches_rejected_settled == 2
    assert core.get_gateway(gw).watermark == 3
    assert await retained_ack(own_mosquitto, gw) == 3, "the gateway's outbox deletes 1 and 2"
    found = sorted((q.reason, q.detail) for q in core.list_quarantine(gateway=gw))
    assert [r for r, _ in found] == ["oversized", "schema", "schema"]
    assert sum("is settled" in d for _, d in found) == 2
    await store.close()


async def test_the_gateway_outbox_deletes_a_batch_the_cloud_refused_whole(
    own_mosquitto: Mosquitto, core: BohCore, tmp_path: Path
) -> None:
    """The real edge uplink and outbox against the real cloud: a batch that can never be
    accepted is acknowledged by seq, so the outbox deletes it instead of resending it."""
    import msgspec

    from bohsense.contracts.schema import Reading
    from bohsense.edge.outbox import Outbox, ThreadedOutbox
    from bohsense.edge.transport import PahoTransport
    from bohsense.edge.uplink import Uplink

    gw, t = unique("gw"), now_ns() - 10**9
    raw = Outbox(tmp_path / "o.db", max_rows=100, max_bytes=10**8, max_age_s=3600, synchronous="normal")
    raw.append(msgspec.msgpack.encode([Reading("d", "temp_c", t, 1.0)]), 1)
    raw.append(msgspec.msgpack.encode([["d", "temp_c", t + 1, "not a number"]]), 1)  # refused whole
    raw.append(msgspec.msgpack.encode([Reading("d", "temp_c", t + 2, 3.0)]), 1)
    outbox = ThreadedOutbox(raw)
    transport = PahoTransport(
        client_id=gw, host="127.0.0.1", port=own_mosquitto.port, keepalive=10,
        will_topic=f"bohsense/v1/gw/{gw}/status", will=lambda: (b"{}", 0),
    )  # fmt: skip
    uplink = Uplink(gateway=gw, site="", outbox=outbox, transport=transport, resend_after_s=3600)
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    async with running(store, core, config(own_mosquitto, unique("ingest"))) as worker:  # type: ignore[arg-type]
        uplink.start()
        tasks = [asyncio.create_task(uplink.send_loop()), asyncio.create_task(uplink.inbox_loop())]
        try:
            await until(lambda: outbox.snapshot.depth == 0, what="the outbox emptied by CloudAcks")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            transport.close(5)
        assert worker.stats.batches_rejected_settled == 1
    assert core.get_gateway(gw).watermark == 3
    assert [q.reason for q in core.list_quarantine(gateway=gw)] == ["schema"]
    await outbox.close()
    await store.close()
