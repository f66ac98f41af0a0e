"""A batch whose readings make the BOH core fail (a rules bug, say) is isolated and
quarantined after a few attempts, with its seq recorded: it cannot stall ingest for the
batches around it. A failing database, by contrast, is retried without giving up."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bohsense.cloud.boh import BohCore
from bohsense.cloud.ports import ApplyOutcome, QuarantineItem
from bohsense.cloud.tsdb import open_store
from bohsense.contracts.codec import decode_batch
from bohsense.contracts.schema import ReadingBatch
from tests.cloud.ingest._harness import as_messages, config, publish, running, until
from tests.cloud.tsdb._data import make_batch, unique
from tests.support.services import Mosquitto


class RulesBug:
    """The real BOH core, with a bug at the seam: readings of ``poison`` make it raise."""

    def __init__(self, core: BohCore, *, database_down: bool = False) -> None:
        self.core = core
        self.database_down = database_down
        self.calls = 0

    def apply_batches(self, batches: Sequence[ReadingBatch]) -> ApplyOutcome:
        self.calls += 1
        if self.database_down:
            raise ConnectionError("database unreachable")
        if any(r.device == "poison" for b in batches for r in b.readings):
            raise ZeroDivisionError("a rule divided by zero")
        return self.core.apply_batches(batches)

    def settled(self, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        return self.core.settled(keys)

    def quarantine(self, items: Sequence[QuarantineItem]) -> int:
        return self.core.quarantine(items)


async def test_a_poison_batch_is_quarantined_and_the_rest_applied(
    own_mosquitto: Mosquitto, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    core = BohCore(f"sqlite:///{tmp_path}/boh.db", auto_register=True)  # no catalog
    core.migrate()
    applier, gw = RulesBug(core), unique("gw")
    batches = [make_batch(gw, 1, 5), make_batch(gw, 2, 5, device="poison"), make_batch(gw, 3, 5)]
    async with running(store, applier, config(own_mosquitto, unique("ingest"))) as worker:
        await publish(own_mosquitto, as_messages(batches))
        await until(lambda: worker.stats.mqtt_acks == 3, what="all three messages acknowledged")
        assert worker.stats.batches_applied == 3  # the poison one with its readings set aside
        assert worker.stats.readings_applied == 10
        assert worker.stats.quarantined_by_reason["apply-failed"] == 1
    (q,) = core.list_quarantine(reason="apply-failed")
    assert "divided by zero" in q.detail
    assert q.gateway == gw
    assert [r.device for r in decode_batch(core.quarantine_payload(q.id)).readings] == [
        "poison"
    ] * 5  # kept whole
    assert core.get_gateway(gw).watermark == 3, "the seq is recorded: the gateway's outbox can move on"
    core.close()
    await store.close()


async def test_a_failing_database_is_retried_and_nothing_is_quarantined(
    own_mosquitto: Mosquitto, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    core = BohCore(f"sqlite:///{tmp_path}/boh.db", auto_register=True)  # no catalog
    core.migrate()
    applier, gw = RulesBug(core, database_down=True), unique("gw")
    async with running(store, applier, config(own_mosquitto, unique("ingest"), retry_max_s=0.05)) as worker:
        await publish(own_mosquitto, as_messages([make_batch(gw, 1, 5)]))
        await until(lambda: applier.calls >= 8, what="several attempts")
        assert worker.stats.mqtt_acks == 0, "nothing acknowledged while the database fails"
        assert worker.stats.quarantined == 0
        applier.database_down = False
        await until(lambda: worker.stats.mqtt_acks == 1, what="applied once the database is back")
    assert core.get_gateway(gw).watermark == 1
    assert core.list_quarantine() == []
    core.close()
    await store.close()
