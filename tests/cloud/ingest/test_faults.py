"""Ingest on a real Mosquitto and the real BOH core (SQLite and PostgreSQL) under hostile
numbers and database faults: one message never stalls the fleet, a database that cannot
take a call is retried and never costs a batch, and a stop is honoured while retrying."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa

from bohsense.cloud.boh import BohCore
from bohsense.cloud.ingest import IngestWorker
from bohsense.cloud.ports import ApplyOutcome, QuarantineItem
from bohsense.cloud.tsdb import TimeSeriesStore, open_store
from bohsense.contracts.schema import CommandResult, GatewayStatus, ReadingBatch
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import readings_topic, result_topic, status_topic
from tests.cloud.boh.faults import FailStatements, admin_execute, limited_role
from tests.cloud.ingest._harness import as_messages, config, publish, running, until
from tests.cloud.ingest._memory import MemoryApplier
from tests.cloud.tsdb._data import make_batch, unique
from tests.support.services import Mosquitto


@pytest.fixture(params=["sqlite", "postgresql"])
def boh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'boh.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def core(boh_url: str) -> Iterator[BohCore]:
    boh = BohCore(boh_url, auto_register=True)  # no catalog: every gateway is trusted
    boh.migrate()
    yield boh
    boh.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[TimeSeriesStore]:
    ts = open_store(f"sqlite:///{tmp_path}/ts.db")
    await ts.setup()
    yield ts
    await ts.close()


def _json(fields: dict[str, object]) -> bytes:
    return msgspec.json.encode(fields)


async def test_forged_numbers_and_lengths_are_refused_and_other_gateways_keep_flowing(
    own_mosquitto: Mosquitto, core: BohCore, store: TimeSeriesStore
) -> None:
    bad, good, now = unique("gw"), unique("gw"), now_ns()
    reading = [["d", "temp_c", now - 10**9, 1.0]]
    poison = [
        (readings_topic(bad), _json({"gateway": bad, "seq": 1, "sent": now, "readings": reading, "floor": 2**63})),
        (readings_topic(bad), _json({"gateway": bad, "seq": 2, "sent": now, "readings": reading, "floor": 3})),
        (status_topic(bad), _json({"gateway": bad, "state": "online", "ts": now, "dropped": 2**63})),
        (status_topic(bad), _json({"gateway": bad, "state": "online", "ts": now, "next_seq": 2**63})),
        (status_topic(bad), _json({"gateway": bad, "state": "online", "ts": now, "version": "v" * 65})),
        (status_topic(bad), _json({"gateway": bad, "state": "online", "ts": now, "site": "s" * 65})),
    ]  # fmt: skip
    cfg = config(own_mosquitto, unique("ingest"))
    async with running(store, core, cfg) as worker:  # type: ignore[arg-type]
        await publish(
            own_mosquitto, [*poison, *as_messages([make_batch(good, 1, 5), make_batch(good, 2, 5)])]
        )
        await until(lambda: worker.stats.mqtt_acks == len(poison) + 2, what="every message acknowledged")
        assert worker.stats.apply_retries == 0, "no message was taken for a failing database"
    assert core.get_gateway(good).watermark == 2
    reasons = sorted(q.reason for q in core.list_quarantine(gateway=bad))
    assert reasons == ["schema"] * len(poison)


class DataBug:
    """The real core, with the database refusing one gateway's status and one command's result
    for their data (as a too-long value or a violated constraint would)."""

    def __init__(self, core: BohCore, gateway: str, result_id: str) -> None:
        self.core, self.gateway, self.result_id = core, gateway, result_id

    def apply_batches(self, batches: Sequence[ReadingBatch]) -> ApplyOutcome:
        return self.core.apply_batches(batches)

    def settled(self, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        return self.core.settled(keys)

    def quarantine(self, items: Sequence[QuarantineItem]) -> int:
        return self.core.quarantine(items)

    def record_status(self, status: GatewayStatus) -> None:
        if status.gateway == self.gateway:
            raise sa.exc.DataError(
                "UPDATE gateways", {}, Exception("value too long for type character varying")
            )
        self.core.record_status(status)

    def record_command_result(self, result: CommandResult) -> None:
        if result.id == self.result_id:
            raise sa.exc.IntegrityError("UPDATE gateway_commands", {}, Exception("violates check constraint"))
        self.core.record_command_result(result)


async def test_a_status_or_result_the_database_refuses_is_quarantined_not_retried_forever(
    own_mosquitto: Mosquitto, core: BohCore, store: TimeSeriesStore
) -> None:
    bad, good, now = unique("gw"), unique("gw"), now_ns()
    applier = DataBug(core, bad, "bad-result")
    messages = [
        (status_topic(bad), msgspec.json.encode(GatewayStatus(gateway=bad, state="online", ts=now))),
        (status_topic(good), msgspec.json.encode(GatewayStatus(gateway=good, state="online", ts=now))),
        (result_topic(good), msgspec.json.encode(CommandResult(gateway=good, id="bad-result", command="tare", ok=True, ts=now))),
        *as_messages([make_batch(good, 1, 5)]),
    ]  # fmt: skip
    async with running(store, applier, config(own_mosquitto, unique("ingest"))) as worker:  # type: ignore[arg-type]
        await publish(own_mosquitto, messages)
        await until(lambda: worker.stats.mqtt_acks == 4, limit_s=30, what="every message acknowledged")
    assert core.get_gateway(good).state == "online"
    assert core.get_gateway(good).watermark == 1
    found = {(q.topic, q.reason) for q in core.list_quarantine()}
    assert found == {(status_topic(bad), "apply-failed"), (result_topic(good), "apply-failed")}
    assert all("DataError" in q.detail or "IntegrityError" in q.detail for q in core.list_quarantine())


async def test_a_database_that_refuses_writes_is_retried_and_no_batch_is_quarantined(
    own_mosquitto: Mosquitto, boh_url: str, store: TimeSeriesStore
) -> None:
    """A revoked privilege (PostgreSQL) or a failing statement (SQLite) for longer than the
    isolation threshold: every batch waits, none is quarantined, all apply afterwards."""
    gw = unique("gw")
    BohCore(boh_url, auto_register=True).migrate()
    with _refusing_devices(boh_url) as (core, restore):
        cfg = config(own_mosquitto, unique("ingest"), retry_max_s=0.05)
        async with running(store, core, cfg) as worker:  # type: ignore[arg-type]
            await publish(own_mosquitto, as_messages([make_batch(gw, s, 12) for s in range(1, 5)]))
            await until(lambda: worker.stats.apply_retries >= 8, what="retries past the isolation threshold")
            assert worker.stats.mqtt_acks == 0
            assert worker.stats.quarantined == 0
            restore()
            await until(lambda: worker.stats.mqtt_acks == 4, what="applied once the database takes writes")
        assert core.get_gateway(gw).watermark == 4
        assert core.list_quarantine() == []
        assert [d.device for d in core.list_devices(gateway=gw)] == ["dev-1"]


@contextlib.contextmanager
def _refusing_devices(boh_url: str) -> Iterator[tuple[BohCore, Callable[[], None]]]:
    """A core whose writes to ``devices`` fail, and how to make them work again."""
    if boh_url.startswith("sqlite"):
        core = BohCore(boh_url, auto_register=True)
        fault = FailStatements(core, "INSERT INTO devices", sa.exc.OperationalError, times=10**9)
        try:
            yield core, fault.remove
        finally:
            core.close()
        return
    with limited_role(boh_url) as (url, role):
        core = BohCore(url, auto_register=True)
        admin_execute(boh_url, f"REVOKE INSERT, UPDATE ON devices FROM {role}")
        try:
            yield core, lambda: admin_execute(boh_url, f"GRANT INSERT, UPDATE ON devices TO {role}")
        finally:
            core.close()


async def test_a_stop_is_honoured_while_the_database_keeps_failing(
    own_mosquitto: Mosquitto, store: TimeSeriesStore
) -> None:
    applier = MemoryApplier()
    applier.fail_next = 10**9
    worker = IngestWorker(store, applier, config(own_mosquitto, unique("ingest"), retry_max_s=0.2))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    async with asyncio.timeout(15):
        await worker.connected.wait()
    await publish(own_mosquitto, as_messages([make_batch(unique("gw"), 1, 5)]))
    await until(lambda: applier.calls >= 3, what="failing calls")
    stop.set()
    started = time.monotonic()
    async with asyncio.timeout(5):
        await task
    assert time.monotonic() - started < 2.0
    assert worker.stats.mqtt_acks == 0, "what was not applied stays unacknowledged"


class QuarantineBug(MemoryApplier):
    """An applier whose quarantine always fails for the data (never the database's fault)."""

    def quarantine(self, items: Sequence[QuarantineItem]) -> int:
        raise ValueError("cannot store this")


async def test_a_reject_that_cannot_be_quarantined_is_counted_and_does_not_stall(
    own_mosquitto: Mosquitto, store: TimeSeriesStore
) -> None:
    applier, gw = QuarantineBug(), unique("gw")
    async with running(store, applier, config(own_mosquitto, unique("ingest"))) as worker:
        await publish(
            own_mosquitto, [(readings_topic(gw), b"\x00junk"), *as_messages([make_batch(gw, 1, 5)])]
        )
        await until(lambda: worker.stats.mqtt_acks == 2, what="both acknowledged")
        assert worker.stats.quarantine_failed == 1
    assert applier.seqs(gw) == {1}
