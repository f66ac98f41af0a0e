"""The core's store scoping (``_scope``): webhook deliveries placed by their group, domain
events by their entity, in SQL on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest

from bohsense.cloud.boh import BohCore, NotFound, enqueue_webhook
from bohsense.cloud.boh._db import write_conn
from bohsense.cloud.boh._domain_events import DomainEvent, emit

from .factory import SITE, catalog


def _other_store(core: BohCore) -> None:
    data = catalog()
    data["sites"].append({"id": "other", "name": "Other"})
    data["gateways"].append({"id": "gw-o", "site": "other"})
    data["assets"].append({**data["assets"][0], "id": "fridge-o", "site": "other", "gateway": "gw-o"})
    core.load_catalog(data)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_deliveries_are_placed_by_their_group(core: BohCore) -> None:
    _other_store(core)
    now = time.time_ns()
    with write_conn(core._engine) as conn:
        for key, group in (
            ("order:1:ordered", f"order:{SITE}/COLA"),
            ("order:2:ordered", "order:other/COLA"),
            ("work_order:3:created", "work_order:cooler-1"),
            ("work_order:4:created", "work_order:fridge-o"),
            ("order:5:ordered", "order:store_t1/COLA"),  # "_" is no wildcard: another store
        ):
            topic = "order.ordered" if key.startswith("order") else "work_order.created"
            enqueue_webhook(conn, topic, key, group, {}, now)
    keys = {d.idempotency_key for d in core.list_webhooks(sites={SITE})}
    assert keys == {"order:1:ordered", "work_order:3:created"}
    assert {d.idempotency_key for d in core.list_webhooks(sites={"other"})} == {
        "order:2:ordered",
        "work_order:4:created",
    }
    assert len(core.list_webhooks()) == 5
    assert core.list_webhooks(sites=set()) == []
    # one a page: the scope is before the limit
    assert [d.idempotency_key for d in core.list_webhooks(sites={SITE}, limit=1, offset=1)] == [
        "work_order:3:created"
    ]
    (hidden,) = [d for d in core.list_webhooks() if d.idempotency_key == "order:2:ordered"]
    assert core.get_webhook(hidden.id).id == hidden.id
    with pytest.raises(NotFound):  # as for an unknown id
        core.get_webhook(hidden.id, sites={SITE})


def test_events_are_placed_by_their_entity(core: BohCore) -> None:
    _other_store(core)
    now = time.time_ns()
    events = [
        DomainEvent("stock.low", "stock_location", f"{SITE}/COLA/aisle-1", None, "low", now),
        DomainEvent("stock.low", "stock_location", "other/COLA/aisle-1", None, "low", now),
        DomainEvent("catalog.lane.updated", "catalog.lane", "gw-t1/shelf-01.lane-1", "active", "active", now),
        DomainEvent("catalog.lane.updated", "catalog.lane", "gw-o/shelf-01.lane-1", "active", "active", now),
        DomainEvent(
            "catalog.rule.updated", "catalog.rule", "fridge-o/vibration-high", "active", "active", now
        ),
        DomainEvent(
            "inventory.transaction_recorded",
            "pos_transaction",
            "till/1",
            None,
            "recorded",
            now,
            detail={"site": SITE},
        ),
        DomainEvent("catalog.sku.updated", "catalog.sku", "COLA", "active", "active", now),
    ]
    before = core.changes(limit=100_000).next_after
    with write_conn(core._engine) as conn:
        emit(conn, *events)
    new = [(e.entity, e.entity_id) for e in events]

    def read(sites: set[str] | None) -> list[tuple[str, str]]:
        return [(e.entity, e.entity_id) for e in core.changes(after=before, limit=1000, sites=sites).events]

    assert read({SITE}) == [new[0], new[2], new[5]]
    assert read({"other"}) == [new[1], new[3], new[4]]
    assert read(None) == new  # the SKU's: only for every store
    theirs = [(e.entity, e.entity_id) for e in core.audit(limit=1000, sites={"other"}) if e.id > before]
    assert theirs == read({"other"})
