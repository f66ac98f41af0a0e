"""Item-level inventory from RFID events in the BOH core (SQLite and PostgreSQL): item state
by event time, the item's history, zone counts against snapshots, door departures."""

from __future__ import annotations

from typing import Any

import pytest

from bohsense.cloud.boh import BohCore, CatalogError, InvalidValue, NotFound, SiteSpec, SkuSpec, ZoneSpec
from bohsense.cloud.tsdb import open_store
from bohsense.contracts.codec import encode
from bohsense.contracts.epc import Sgtin96
from bohsense.contracts.events import Event, ItemPresence, ZoneSnapshot
from bohsense.contracts.schema import ReadingBatch
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import readings_topic
from tests.cloud.ingest._events import wire
from tests.cloud.ingest._harness import config, publish, running, until
from tests.cloud.tsdb._data import unique
from tests.support.services import Mosquitto

from .factory import GW, SITE, T0, catalog

S = 10**9
COLA = Sgtin96("0614141", "812345", 1)
GTIN = COLA.gtin14()  # 80614141123458
TEA_GTIN = Sgtin96("0614141", "812346", 1).gtin14()
EPC1 = COLA.hex()
EPC2 = Sgtin96("0614141", "812345", 2).hex()
EPC3 = Sgtin96("0614141", "812346", 3).hex()  # a GTIN no SKU has
NON_GTIN = "E2801160600002054CC2096F"  # a TID-like EPC: no GTIN scheme
GW2 = "gw-t2"


def rfid_catalog(gateway: str = GW) -> dict[str, Any]:
    c = catalog(gateway)
    c["sites"][0]["zones"] = [
        {"zone": "floor-1", "kind": "floor"},
        {"zone": "backroom", "kind": "backroom"},
        {"zone": "door-1", "kind": "door"},
    ]
    c["skus"][0]["gtin"] = GTIN
    c["gateways"].append({"id": GW2, "site": SITE})
    return c


@pytest.fixture
def inv(core: BohCore) -> BohCore:
    core.load_catalog(rfid_catalog())
    return core


def item(
    epc: str,
    ts: int,
    transition: str = "arrived",
    zone: str = "floor-1",
    *,
    from_zone: str = "",
    reader: str = "reader-1",
    gtin: str | None = None,
) -> Event:
    if gtin is None:
        gtin = Sgtin96.from_hex(epc).gtin14() if epc.startswith("30") else ""
    serial = str(Sgtin96.from_hex(epc).serial) if gtin else ""
    return Event(
        reader,
        "rfid.item",
        ts,
        ItemPresence(epc, transition, zone, reader, 1, -55.5, 12, from_zone, gtin, serial),  # type: ignore[arg-type]
    )


def snapshot(zone: str, ts: int, counts: dict[str, int], other: int = 0) -> Event:
    return Event("reader-1", "rfid.zone_snapshot", ts, ZoneSnapshot(zone, counts, other))


def batch_of(seq: int, *events: Event, gateway: str = GW, sent: int = T0) -> ReadingBatch:
    return ReadingBatch(
        gateway=gateway, seq=seq, sent=sent, readings=[], site=SITE, events=[wire(e) for e in events]
    )


def test_an_item_moves_and_departs_with_its_history_newest_first(inv: BohCore) -> None:
    inv.apply_batches([batch_of(1, item(EPC1, T0 + 1 * S, zone="backroom"))])
    inv.apply_batches([batch_of(2, item(EPC1, T0 + 2 * S, "moved", "floor-1", from_zone="backroom"))])
    view = inv.inventory_item(EPC1)
    (state,) = view.states
    assert (state.site, state.zone, state.zone_kind, state.present, state.transition) == (
        SITE, "floor-1", "floor", True, "moved",
    )  # fmt: skip
    assert (state.gtin, state.serial, state.sku, state.gateway, state.seq, state.idx) == (
        GTIN, "1", "COLA", GW, 2, 0,
    )  # fmt: skip
    assert (state.ts_ns, state.first_seen_ns, state.reader) == (T0 + 2 * S, T0 + S, "reader-1")
    inv.apply_batches([batch_of(3, item(EPC1, T0 + 3 * S, "departed", "floor-1"))])
    view = inv.inventory_item(EPC1)
    assert (view.states[0].present, view.states[0].transition) == (False, "departed")
    assert [(h.seq, h.transition, h.zone, h.from_zone, h.backfilled) for h in view.history] == [
        (3, "departed", "floor-1", "", False),
        (2, "moved", "floor-1", "backroom", False),
        (1, "arrived", "backroom", "", False),
    ]
    assert len(inv.inventory_item(EPC1, history_limit=1).history) == 1
    with pytest.raises(NotFound):
        inv.inventory_item(EPC2)
    with pytest.raises(NotFound):
        inv.inventory_item(EPC1, site="elsewhere")


def test_a_backfilled_older_event_goes_into_history_and_never_overwrites_newer_state(inv: BohCore) -> None:
    inv.apply_batches([batch_of(5, item(EPC1, T0 + 10 * S, "moved", "backroom", from_zone="floor-1"))])
    # another gateway's backlog, older by event time, applied after
    inv.apply_batches([batch_of(1, item(EPC1, T0 + 5 * S, "departed", "floor-1"), gateway=GW2)])
    view = inv.inventory_item(EPC1)
    (state,) = view.states
    assert (state.zone, state.present, state.ts_ns, state.gateway) == ("backroom", True, T0 + 10 * S, GW)
    assert state.first_seen_ns == T0 + 5 * S  # the earliest event time seen
    assert [(h.gateway, h.ts_ns, h.backfilled) for h in view.history] == [
        (GW, T0 + 10 * S, False),
        (GW2, T0 + 5 * S, True),
    ]


def test_a_reader_losing_an_item_carried_into_another_readers_zone_does_not_take_it_out(inv: BohCore) -> None:
    # the floor reader sees the item, then the back-room reader sees it arrive there;
    # the floor reader's departure (its timeout) comes later and must not make it absent
    inv.apply_batches([batch_of(1, item(EPC1, T0 + 1 * S, zone="floor-1", reader="reader-1"))])
    inv.apply_batches([batch_of(2, item(EPC1, T0 + 5 * S, zone="backroom", reader="reader-2"))])
    inv.apply_batches([batch_of(3, item(EPC1, T0 + 11 * S, "departed", "floor-1", reader="reader-1"))])
    view = inv.inventory_item(EPC1)
    (state,) = view.states
    assert (state.zone, state.present, state.reader, state.ts_ns) == (
        "backroom",
        True,
        "reader-2",
        T0 + 5 * S,
    )
    assert [(h.transition, h.zone, h.backfilled) for h in view.history] == [
        ("departed", "floor-1", True),
        ("arrived", "backroom", False),
        ("arrived", "floor-1", False),
    ]
    # the same reader's departure of the zone the item is in does take it out
    inv.apply_batches([batch_of(4, item(EPC1, T0 + 20 * S, "departed", "backroom", reader="reader-2"))])
    assert inv.inventory_item(EPC1).states[0].present is False


def test_a_tie_on_event_time_is_broken_by_gateway_seq_and_index(inv: BohCore) -> None:
    ts = T0 + 7 * S
    # the same event time: the later index of the same batch wins ...
    inv.apply_batches([batch_of(1, item(EPC1, ts, zone="floor-1"), item(EPC1, ts, "moved", "backroom"))])
    assert inv.inventory_item(EPC1).states[0].zone == "backroom"
    # ... a lower seq of the same gateway loses, whenever it arrives ...
    inv.apply_batches([batch_of(2, item(EPC2, ts, zone="backroom"))])
    inv.apply_batches([batch_of(1, item(EPC2, ts, zone="door-1"), gateway=GW2)])  # "gw-t2" > "gw-t1"
    assert inv.inventory_item(EPC2).states[0].zone == "door-1"
    inv.apply_batches([batch_of(4, item(EPC3, ts, zone="floor-1"))])
    inv.apply_batches([batch_of(3, item(EPC3, ts, zone="backroom"))])
    (state,) = inv.inventory_item(EPC3).states
    assert (state.zone, state.seq) == ("floor-1", 4)


def test_a_duplicate_batch_changes_nothing_and_a_reordered_pair_ends_in_the_same_state(
    inv: BohCore,
) -> None:
    first = batch_of(1, item(EPC1, T0 + S, zone="backroom"), item(EPC2, T0 + S, zone="floor-1"))
    second = batch_of(
        2,
        item(EPC1, T0 + 2 * S, "moved", "floor-1", from_zone="backroom"),
        item(EPC2, T0 + 2 * S, "departed"),
    )
    inv.apply_batches([second])
    inv.apply_batches([first])  # reordered: the older batch arrives last
    out = inv.apply_batches([first, second])  # both again
    assert out.duplicates == 2
    one, two = inv.inventory_item(EPC1), inv.inventory_item(EPC2)
    assert (one.states[0].zone, one.states[0].present, one.states[0].seq) == ("floor-1", True, 2)
    assert (two.states[0].zone, two.states[0].present, two.states[0].seq) == ("floor-1", False, 2)
    assert len(one.history) == len(two.history) == 2
    assert [h.backfilled for h in one.history] == [False, True]  # seq 1 arrived after seq 2
    (zone,) = inv.inventory_zones()
    assert (zone.zone, zone.items, [(x.gtin, x.items) for x in zone.lines]) == ("floor-1", 1, [(GTIN, 1)])


def test_zone_counts_per_sku_with_the_newest_snapshot_and_its_difference(inv: BohCore) -> None:
    inv.apply_batches(
        [
            batch_of(
                1,
                item(EPC1, T0 + S, zone="floor-1"),
                item(EPC2, T0 + S, zone="floor-1"),
                item(EPC3, T0 + S, zone="floor-1"),
                item(NON_GTIN, T0 + S, zone="floor-1"),
                item(Sgtin96("0614141", "812345", 9).hex(), T0 + S, zone="backroom"),
            )
        ]
    )
    inv.apply_batches([batch_of(2, item(EPC2, T0 + 2 * S, "departed", "floor-1"))])  # no longer counted
    inv.apply_batches([batch_of(3, snapshot("floor-1", T0 + 3 * S, {GTIN: 3, TEA_GTIN: 1}, other=0))])
    inv.apply_batches([batch_of(4, snapshot("floor-1", T0 + 1 * S, {GTIN: 99}))])  # older: not kept
    inv.apply_batches([batch_of(5, snapshot("shelf-x", T0 + 3 * S, {}, other=2))])  # no item there
    back, floor, shelf = inv.inventory_zones()
    assert (floor.site, floor.zone, floor.kind, floor.items) == (SITE, "floor-1", "floor", 3)
    assert floor.snapshot is not None
    assert (floor.snapshot.ts_ns, floor.snapshot.seq, floor.snapshot.total) == (T0 + 3 * S, 3, 4)
    assert [(x.gtin, x.sku, x.items, x.snapshot, x.difference) for x in floor.lines] == [
        (GTIN, "COLA", 1, 3, 2),
        (TEA_GTIN, None, 1, 1, 0),
        ("", None, 1, 0, -1),
    ]
    assert (back.zone, back.kind, back.items, back.snapshot) == ("backroom", "backroom", 1, None)
    assert [(x.gtin, x.items, x.snapshot, x.difference) for x in back.lines] == [(GTIN, 1, None, None)]
    assert (shelf.zone, shelf.kind, shelf.items) == ("shelf-x", "", 0)
    assert [(x.gtin, x.items, x.snapshot, x.difference) for x in shelf.lines] == [("", 0, 2, 2)]
    # filters
    assert [z.zone for z in inv.inventory_zones(zone="backroom")] == ["backroom"]
    assert inv.inventory_zones(site="elsewhere") == []
    by_sku = inv.inventory_zones(sku="COLA")
    assert [(z.zone, [(x.gtin, x.items, x.snapshot) for x in z.lines]) for z in by_sku] == [
        ("backroom", [(GTIN, 1, None)]),
        ("floor-1", [(GTIN, 1, 3)]),
    ]
    with pytest.raises(InvalidValue, match="not an active SKU"):
        inv.inventory_zones(sku="NOPE")
    inv.change_catalog(lambda ops: ops.put_sku(SkuSpec("TEA", "Tea")), actor="test")
    with pytest.raises(InvalidValue, match="has no GTIN"):
        inv.inventory_zones(sku="TEA")
    # a GTIN added to the catalog later names the items already seen
    inv.change_catalog(lambda ops: ops.put_sku(SkuSpec("TEA", "Tea", gtin=TEA_GTIN)), actor="test")
    (floor,) = inv.inventory_zones(sku="TEA")
    assert [(x.sku, x.items) for x in floor.lines] == [("TEA", 1)]


def test_a_door_departure_is_listed_unmatched_and_signalled_once_in_the_changes(inv: BohCore) -> None:
    inv.apply_batches([batch_of(1, item(EPC1, T0 + S), item(EPC2, T0 + S), item(EPC3, T0 + S))])
    door = batch_of(
        2,
        item(EPC1, T0 + 2 * S, "moved", "door-1", from_zone="floor-1"),
        item(EPC1, T0 + 3 * S, "departed", "door-1"),
        item(EPC2, T0 + 4 * S, "departed", "floor-1"),  # not a door: no signal
        item(EPC3, T0 + 5 * S, "departed", "door-1", reader="reader-9"),
    )
    inv.apply_batches([door])
    inv.apply_batches([door])  # a duplicate signals nothing again
    found = inv.inventory_departures()
    assert [(d.epc, d.zone, d.ts_ns, d.sku, d.sale_matched) for d in found] == [
        (EPC3, "door-1", T0 + 5 * S, None, False),
        (EPC1, "door-1", T0 + 3 * S, "COLA", False),
    ]
    assert (found[1].gtin, found[1].serial, found[1].gateway, found[1].seq, found[1].idx) == (
        GTIN,
        "1",
        GW,
        2,
        1,
    )
    assert [d.epc for d in inv.inventory_departures(since_ns=T0 + 4 * S)] == [EPC3]
    assert [d.epc for d in inv.inventory_departures(until_ns=T0 + 5 * S)] == [EPC1]
    assert [d.epc for d in inv.inventory_departures(limit=1)] == [EPC3]
    assert inv.inventory_departures(site="elsewhere") == []
    signals = [
        c for c in inv.changes(after=0, limit=1000).events if c.kind == "inventory.item_departed_unsold"
    ]
    assert [(s.entity, s.entity_id, s.from_state, s.to_state) for s in signals] == [
        ("rfid_item", EPC1, "present", "departed"),
        ("rfid_item", EPC3, "present", "departed"),
    ]
    assert signals[0].detail == {
        "site": SITE,
        "epc": EPC1,
        "zone": "door-1",
        "gtin": GTIN,
        "serial": "1",
        "sku": "COLA",
        "ts_ns": T0 + 3 * S,
        "gateway": GW,
        "seq": 2,
        "idx": 1,
        "reader": "reader-1",
        "sale_matched": False,
        "backfilled": False,
    }


def test_a_zone_is_a_door_by_the_catalog_when_the_event_is_applied(inv: BohCore) -> None:
    inv.apply_batches([batch_of(1, item(EPC1, T0 + S, "departed", "exit-2"))])  # not in the catalog
    assert inv.inventory_departures() == []
    spec = SiteSpec(
        SITE, "Test store", (ZoneSpec("floor-1"), ZoneSpec("door-1", "door"), ZoneSpec("exit-2", "door"))
    )
    inv.change_catalog(lambda ops: ops.put_site(spec), actor="test")
    inv.apply_batches([batch_of(2, item(EPC2, T0 + 2 * S, "departed", "exit-2"))])
    assert [d.epc for d in inv.inventory_departures()] == [EPC2]
    (site,) = inv.list_sites()
    assert [(z.zone, z.kind) for z in site.zones] == [
        ("door-1", "door"),
        ("exit-2", "door"),
        ("floor-1", "floor"),
    ]
    (retired,) = [z for z in inv.list_sites(include_retired=True)[0].zones if z.retired_ns is not None]
    assert retired.zone == "backroom"  # not listed: retired


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda c: c["skus"][0].update(gtin="80614141123459"), "its check digit is 8"),
        (lambda c: c["skus"][0].update(gtin="8061414112345"), "is not 14 digits"),
        (lambda c: c["skus"][0].update(gtin="8O614141123458"), "is not 14 digits"),
        (lambda c: c["skus"][0].update(gtin=80614141123458), "field 'gtin' has the wrong type"),
        (
            lambda c: c["skus"].append({"sku": "COLA-2", "gtin": GTIN}),
            "is the GTIN of sku 'COLA' already",
        ),
        (lambda c: c["sites"][0]["zones"].append({"zone": "roof", "kind": "attic"}), "is not one of floor"),
        (lambda c: c["sites"][0]["zones"].append({"zone": "door-1", "kind": "door"}), "listed twice"),
        (lambda c: c["sites"][0]["zones"].append({"zone": "bad zone"}), "is not a name readers report"),
        (lambda c: c["sites"][0].update(zones="door-1"), "must be a list of tables"),
    ],
)
def test_a_bad_gtin_or_zone_in_the_catalog_is_refused_with_the_reason(
    core: BohCore, change: Any, said: str
) -> None:
    c = rfid_catalog()
    change(c)
    with pytest.raises(CatalogError, match=said):
        core.load_catalog(c)
    assert [s.gtin for s in core.list_skus()] == [""]  # nothing of the refused catalog was kept


def test_the_gtin_and_zones_appear_in_the_catalog_read_side(inv: BohCore) -> None:
    (sku,) = inv.list_skus()
    assert (sku.sku, sku.gtin) == ("COLA", GTIN)
    (site,) = inv.list_sites()
    assert [(z.zone, z.kind) for z in site.zones] == [
        ("backroom", "backroom"),
        ("door-1", "door"),
        ("floor-1", "floor"),
    ]
    kinds = {c.kind for c in inv.changes(after=0, limit=1000).events}
    assert "catalog.zone.created" in kinds


async def test_rfid_events_through_mosquitto_and_the_ingest_worker_apply_once_in_event_order(
    mosquitto: Mosquitto, core: BohCore, tmp_path: Any
) -> None:
    gw = unique("gw")
    core.load_catalog(rfid_catalog(gw))
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    await store.setup()
    t0 = now_ns() - 60 * S
    newer = batch_of(
        2,
        item(EPC1, t0 + 2 * S, "moved", "door-1", from_zone="floor-1"),
        item(EPC1, t0 + 3 * S, "departed", "door-1"),
        snapshot("floor-1", t0 + 3 * S, {GTIN: 1}),
        gateway=gw,
        sent=now_ns(),
    )
    older = batch_of(1, item(EPC1, t0 + S), item(EPC2, t0 + S), gateway=gw, sent=now_ns())
    topic = readings_topic(gw)
    async with running(store, core, config(mosquitto, unique("ingest"))) as worker:  # type: ignore[arg-type]
        # the newer batch first, then the older one, then both again
        await publish(mosquitto, [(topic, encode(newer))])
        await until(lambda: worker.stats.mqtt_acks == 1, what="the newer batch acknowledged")
        await publish(mosquitto, [(topic, encode(older)), (topic, encode(newer)), (topic, encode(older))])
        await until(lambda: worker.stats.mqtt_acks == 4, what="every batch acknowledged")
        assert worker.stats.duplicates == 2
    await store.close()
    view = core.inventory_item(EPC1)
    (state,) = view.states
    assert (state.zone, state.present, state.seq, state.idx) == ("door-1", False, 2, 1)
    assert [(h.seq, h.idx, h.backfilled) for h in view.history] == [
        (2, 1, False),
        (2, 0, False),
        (1, 0, True),
    ]
    (floor,) = core.inventory_zones()
    assert [(x.gtin, x.items, x.snapshot, x.difference) for x in floor.lines] == [(GTIN, 1, 1, 0)]
    assert [d.epc for d in core.inventory_departures()] == [EPC1]
    kinds = [c.kind for c in core.changes(after=0, limit=1000).events]
    assert kinds.count("inventory.item_departed_unsold") == 1
