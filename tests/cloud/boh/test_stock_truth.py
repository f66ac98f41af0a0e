"""The stock truth in the BOH core (SQLite and PostgreSQL): lane events and states into one
sensed number per location, fusion with RFID and its disagreement alert, the fused number
in replenishment, out-of-stock periods with lost sales, the heat map, the POS ledger, and
the phantom, shrink and unsold-departure signals of the sweep."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bohsense.cloud.boh import (
    BohCore,
    InvalidValue,
    LocationSpec,
    PosBatch,
    PosLine,
    PosTransactionIn,
    StockSettings,
)
from bohsense.contracts.events import Event, LaneChange, LaneState
from bohsense.contracts.schema import ReadingBatch

from .factory import GW, LANE_A, LANE_B, SITE, T0, batch, units
from .test_inventory import EPC1, GTIN, batch_of, item, rfid_catalog

S = 10**9
H = 3600 * S
LOC = "aisle-1/shelf-1"
SHELF = "shelf-01"


@dataclass
class Clock:
    now: int = T0

    def __call__(self) -> int:
        return self.now


def stock_catalog(gateway: str = GW) -> dict[str, Any]:
    c = rfid_catalog(gateway)
    c["locations"][0].update({"aisle": "aisle-1", "shelf": "shelf-1", "zone": "floor-1"})
    return c


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def st(db_url: str, clock: Clock) -> Iterator[BohCore]:
    core = BohCore(db_url, clock=clock, stock_settings=StockSettings(phantom_after_s=3 * 3600))
    core.migrate()
    core.load_catalog(stock_catalog())
    yield core
    core.close()


def state(lane: str, ts: int, st_: str, n: int | None = None, reason: str = "", conf: float = 1.0) -> Event:
    return Event(SHELF, "shelf.lane_state", ts, LaneState(lane, st_, n, reason, None, conf))  # type: ignore[arg-type]


def pick(lane: str, ts: int, n: int, after: int, conf: float = 0.98) -> Event:
    return Event(SHELF, "shelf.pick", ts, LaneChange(lane, n, conf, -355.0 * n, after))


def restock(lane: str, ts: int, n: int, after: int) -> Event:
    return Event(SHELF, "shelf.restock", ts, LaneChange(lane, n, 0.99, 355.0 * n, after))


class Seqs:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, *events: Event) -> ReadingBatch:
        self.n += 1
        return batch_of(self.n, *events)


@pytest.fixture
def seq() -> Seqs:
    return Seqs()


def one(core: BohCore) -> Any:
    (found,) = core.sensed_stock(site=SITE)
    return found


def sale(txn: str, ts: int, qty: float, *, sku: str = "COLA", location: str = "") -> PosTransactionIn:
    return PosTransactionIn(txn, "sale", SITE, ts, (PosLine(qty, sku=sku, location=location),))


def receipt(txn: str, ts: int, qty: float) -> PosTransactionIn:
    return PosTransactionIn(txn, "receipt", SITE, ts, (PosLine(qty, sku="COLA", location=LOC),))


def post(core: BohCore, *txns: PosTransactionIn, sender: str = "till-1") -> list[str]:
    return [r.status for r in core.record_transactions(PosBatch(sender, txns), actor="test")]


def kinds(core: BohCore, prefix: str) -> list[str]:
    return [e.kind for e in core.changes(after=0, limit=10_000).events if e.kind.startswith(prefix)]


def alerts(core: BohCore, condition: str) -> list[Any]:
    return [a for a in core.list_alerts(limit=1000) if a.condition == condition]


# -- sensed stock from lane events ----------------------------------------------------------


def test_lane_events_make_one_weight_count_in_event_time_order_and_once(st: BohCore, seq: Seqs) -> None:
    first = seq(state(LANE_A, T0 + 1 * S, "stable", 20), state(LANE_B, T0 + 1 * S, "stable", 10))
    st.apply_batches([first])
    s = one(st)
    assert (s.units, s.source, s.trusted, s.level, s.aisle, s.shelf) == (
        30,
        "weight",
        True,
        "in_stock",
        "aisle-1",
        "shelf-1",
    )
    st.apply_batches([seq(pick(LANE_A, T0 + 5 * S, 2, 18, conf=0.9))])
    s = one(st)
    assert (s.units, s.confidence, s.as_of_ns) == (28, 0.9, T0 + 5 * S)
    # the same batch again: a duplicate, nothing moves
    out = st.apply_batches([first])
    assert out.duplicates == 1
    assert one(st).units == 28
    # an older event arriving later never overwrites the newer count
    st.apply_batches([seq(pick(LANE_A, T0 + 3 * S, 1, 19))])
    assert one(st).units == 28
    (level,) = st.stock_levels(site=SITE)
    assert (level.units, level.as_of_ns) == (28, T0 + 5 * S)
    assert [(lane.device, lane.units, lane.state) for lane in one(st).lanes] == [
        (LANE_A, 18, "stable"),
        (LANE_B, 10, "stable"),
    ]
    st.change_catalog(
        lambda ops: ops.put_location(
            LocationSpec(SITE, "COLA", "endcap-1", 2, 6, aisle="aisle-1", shelf="shelf-1")
        ),
        actor="t",
    )
    (shelf,) = st.sensed_rollup(by="shelf")
    assert (shelf.aisle, shelf.shelf, shelf.locations, shelf.units, shelf.trusted, shelf.untrusted) == (
        "aisle-1", "shelf-1", 2, 28, False, 1,
    )  # fmt: skip
    (store,) = st.sensed_rollup(by="store", site=SITE)
    assert (store.site, store.sku, store.units, store.confidence) == (SITE, "COLA", 28, 0.9)
    with pytest.raises(InvalidValue):
        st.sensed_rollup(by="aisle")


def test_a_lane_in_fault_or_unfit_makes_the_count_untrusted_never_a_wrong_number(
    st: BohCore, seq: Seqs
) -> None:
    st.apply_batches([seq(state(LANE_A, T0 + S, "stable", 8), state(LANE_B, T0 + S, "stable", 7))])
    assert one(st).units == 15
    st.apply_batches([seq(state(LANE_A, T0 + 2 * S, "fault", reason="stuck"))])
    s = one(st)
    assert (s.units, s.trusted, s.level, s.weight_trusted) == (None, False, "untrusted", False)
    assert "shelf-01.lane-1 fault (stuck)" in s.reason
    assert s.last_trusted_units == 15
    # a units reading of the faulty lane does not make it trusted again
    st.apply_batches([batch(900, [units(LANE_A, 3, 2.0)])])
    assert one(st).trusted is False
    (level,) = st.stock_levels(site=SITE)
    assert level.units == 15  # the stock level keeps the last trusted number; the rule is not asked
    assert st.list_proposals() == []
    # unfit on the other lane, then both stable again
    st.apply_batches([seq(state(LANE_B, T0 + 4 * S, "unfit", reason="unfit_weight"))])
    st.apply_batches([seq(state(LANE_A, T0 + 5 * S, "stable", 3), state(LANE_B, T0 + 5 * S, "stable", 4))])
    s = one(st)
    assert (s.units, s.trusted, s.level) == (7, True, "low")
    assert kinds(st, "stock.") == ["stock.in_stock", "stock.untrusted", "stock.low"]
    (p,) = st.list_proposals()
    assert (p.sensed_units, p.quantity) == (7, 36)
    # settling keeps the last settled count
    st.apply_batches([seq(state(LANE_A, T0 + 6 * S, "settling"))])
    assert (one(st).units, one(st).trusted) == (7, True)


# -- fusion with RFID -----------------------------------------------------------------------


def epc(serial: int) -> str:
    from bohsense.contracts.epc import Sgtin96

    return Sgtin96("0614141", "812345", serial).hex()


def tags(n: int, ts: int, start: int = 1) -> list[Event]:
    return [item(epc(i), ts) for i in range(start, start + n)]


def test_rfid_counts_tagged_items_weight_cross_checks_and_a_disagreement_is_an_alert(
    st: BohCore, seq: Seqs
) -> None:
    st.apply_batches([seq(*tags(10, T0 + S))])
    s = one(st)
    assert (s.units, s.source, s.rfid_units, s.weight_units) == (10, "rfid", 10, None)
    st.apply_batches([seq(state(LANE_A, T0 + 2 * S, "stable", 6), state(LANE_B, T0 + 2 * S, "stable", 4))])
    s = one(st)
    assert (s.units, s.source, s.disagreement, s.confidence) == (10, "fused", False, 1.0)
    assert alerts(st, "stock-disagreement") == []
    # four untagged cans on the lane: weight says 14, RFID 10 -> an alert with both numbers
    st.apply_batches([seq(restock(LANE_A, T0 + 3 * S, 4, 10))])
    s = one(st)
    assert (s.units, s.source, s.disagreement, s.weight_units, s.rfid_units) == (10, "fused", True, 14, 10)
    (a,) = alerts(st, "stock-disagreement")
    assert (a.evidence["weight_units"], a.evidence["rfid_units"], a.evidence["difference"]) == (14, 10, 4)
    assert a.subject == f"stock:{SITE}/COLA/{LOC}"
    assert a.cleared_ns is None
    # within the tolerance (1 unit or 10 %) they agree again: the alert's condition clears
    st.apply_batches([seq(pick(LANE_A, T0 + 4 * S, 3, 7))])
    assert one(st).disagreement is False
    (a,) = alerts(st, "stock-disagreement")
    assert a.cleared_ns is not None
    # weight in fault: RFID alone still counts the tagged items, trusted
    st.apply_batches([seq(state(LANE_B, T0 + 5 * S, "fault", reason="dead"))])
    s = one(st)
    assert (s.units, s.source, s.trusted, s.weight_trusted) == (10, "rfid", True, False)
    # a tagged item leaves the zone: the count follows
    st.apply_batches([seq(item(epc(1), T0 + 6 * S, "moved", "backroom", from_zone="floor-1"))])
    assert one(st).units == 9


def test_the_replenishment_rule_is_asked_with_the_fused_number(st: BohCore, seq: Seqs) -> None:
    st.apply_batches([seq(state(LANE_A, T0 + S, "stable", 20), state(LANE_B, T0 + S, "stable", 10))])
    assert st.list_proposals() == []
    st.apply_batches([seq(*tags(5, T0 + 2 * S))])
    s = one(st)
    assert (s.units, s.source, s.disagreement) == (5, "fused", True)
    (p,) = st.list_proposals()
    assert (p.sensed_units, p.quantity) == (5, 36)  # ceil((40 - 5) / 6) packs of 6


# -- out of stock ---------------------------------------------------------------------------


def test_out_of_stock_opens_a_period_with_its_lost_sales_estimate(
    st: BohCore, seq: Seqs, clock: Clock
) -> None:
    t1 = T0 + 10 * H
    st.apply_batches([seq(state(LANE_A, t1 - 12 * H, "stable", 12), state(LANE_B, t1 - 12 * H, "stable", 0))])
    # 12 sold over the 24 h before: 0.5 an hour
    post(st, *(sale(f"s{i}", t1 - 23 * H + i * H, 1) for i in range(12)))
    st.apply_batches([seq(pick(LANE_A, t1, 12, 0))])
    assert one(st).level == "out_of_stock"
    clock.now = t1 + 2 * H
    (o,) = st.stock_outages(site=SITE, open_only=True)
    assert (o.started_ns, o.ended_ns, o.rate_source, o.rate_per_h) == (t1, None, "pos", 0.5)
    assert (o.duration_s, o.lost_units) == (7200, 1.0)
    st.apply_batches([seq(restock(LANE_A, t1 + 3 * H, 24, 24))])
    (o,) = st.stock_outages(site=SITE)
    assert (o.ended_ns, o.duration_s, o.lost_units) == (t1 + 3 * H, 3 * 3600, 1.5)
    assert st.stock_outages(site=SITE, open_only=True) == []
    (total,) = st.stock_outage_totals(since_ns=t1 + H, until_ns=t1 + 2 * H, site=SITE)
    assert (total.sku, total.outages, total.oos_s, total.lost_units, total.open_now) == (
        "COLA",
        1,
        3600,
        0.5,
        0,
    )
    assert kinds(st, "stock.") == ["stock.in_stock", "stock.out_of_stock", "stock.in_stock"]


def test_the_heat_map_splits_out_of_stock_time_by_hour(st: BohCore, seq: Seqs, clock: Clock) -> None:
    day = T0 - T0 % (24 * H)
    start, end = day + 10 * H + 30 * 60 * S, day + 12 * H + 15 * 60 * S
    st.apply_batches([seq(state(LANE_A, start - H, "stable", 3), state(LANE_B, start - H, "stable", 0))])
    st.apply_batches([seq(pick(LANE_A, start, 3, 0))])
    st.apply_batches([seq(restock(LANE_A, end, 6, 6))])
    clock.now = day + 20 * H
    cells = st.stock_heatmap(since_ns=day, until_ns=day + 24 * H, site=SITE)
    assert [(c.aisle, c.shelf, c.hour_ns - day, c.oos_minutes, c.locations) for c in cells] == [
        ("aisle-1", "shelf-1", 10 * H, 30.0, 1),
        ("aisle-1", "shelf-1", 11 * H, 60.0, 1),
        ("aisle-1", "shelf-1", 12 * H, 15.0, 1),
    ]
    # a window that cuts the period counts only its part
    assert [
        c.oos_minutes for c in st.stock_heatmap(since_ns=day + 11 * H, until_ns=day + 11 * H + 20 * 60 * S)
    ] == [20.0]
    assert st.stock_heatmap(since_ns=day + 13 * H, until_ns=day + 14 * H) == []


# -- book stock -----------------------------------------------------------------------------


def test_the_ledger_takes_sales_receipts_and_adjustments_once_with_balances(st: BohCore) -> None:
    assert post(st, receipt("r1", T0, 24), sale("s1", T0 + S, 2)) == ["applied", "applied"]
    assert post(st, sale("s1", T0 + S, 2), sale("s2", T0 + 2 * S, 1)) == ["duplicate", "applied"]
    adjust = PosTransactionIn(
        "a1", "adjustment", SITE, T0 + 3 * S, (PosLine(-3, gtin=GTIN, reason="damaged"),)
    )
    assert post(st, adjust, sender="erp") == ["applied"]
    assert post(st, sale("s1", T0, 5), sender="till-2") == ["applied"]  # ids are per sender
    rows = st.ledger(site=SITE)
    assert [(x.kind, x.quantity, x.balance_after, x.txn_id) for x in reversed(rows)] == [
        ("receipt", 24, 24, "r1"),
        ("sale", -2, 22, "s1"),
        ("sale", -1, 21, "s2"),
        ("adjustment", -3, 18, "a1"),
        ("sale", -5, 13, "s1"),
    ]
    assert one(st).book_units == 13
    recorded = [
        e for e in st.changes(after=0, limit=1000).events if e.kind == "inventory.transaction_recorded"
    ]
    assert len(recorded) == 5
    assert recorded[0].detail["lines"] == [
        {"sku": "COLA", "location": LOC, "quantity": 24.0, "book_after": 24.0}
    ]


@pytest.mark.parametrize(
    ("txn", "field", "reason"),
    [
        (PosTransactionIn("x", "sale", SITE, T0, (PosLine(1, sku="NOPE"),)), "transactions[1].lines[0].sku", "not an active SKU"),
        (PosTransactionIn("x", "sale", SITE, T0, (PosLine(1, gtin="00000000000000"),)), "transactions[1].lines[0].gtin", "GTIN of no"),
        (PosTransactionIn("x", "sale", SITE, T0, (PosLine(1, sku="COLA", location="aisle-9"),)), "transactions[1].lines[0].location", "not a stock location"),
        (PosTransactionIn("x", "sale", "store-x", T0, (PosLine(1, sku="COLA"),)), "transactions[1].site", "not an active site"),
        (PosTransactionIn("x", "sale", SITE, T0, (PosLine(1, sku="COLA"), PosLine(-2, sku="COLA"))), "transactions[1].lines[1].quantity", "positive quantity"),
        (PosTransactionIn("x", "receipt", SITE, T0, (PosLine(0, sku="COLA"),)), "transactions[1].lines[0].quantity", "positive quantity"),
        (PosTransactionIn("x", "adjustment", SITE, T0, (PosLine(0, sku="COLA"),)), "transactions[1].lines[0].quantity", "non-zero"),
        (PosTransactionIn("x", "sale", SITE, T0, (PosLine(float("nan"), sku="COLA"),)), "transactions[1].lines[0].quantity", "finite"),
        (PosTransactionIn("x", "sale", SITE, T0, (PosLine(1, sku="COLA", gtin=GTIN),)), "transactions[1].lines[0]", "exactly one"),
        (PosTransactionIn("ok", "sale", SITE, T0, (PosLine(1, sku="COLA"),)), "transactions[1].txn_id", "given twice"),
    ],
)  # fmt: skip
def test_a_bad_line_is_named_and_nothing_of_the_batch_is_applied(
    st: BohCore, txn: PosTransactionIn, field: str, reason: str
) -> None:
    good = sale("ok", T0, 1)
    with pytest.raises(InvalidValue) as err:
        post(st, good, txn)
    assert err.value.field == field
    assert reason in err.value.reason
    assert st.ledger() == []
    assert one(st).book_units is None
    assert post(st, good) == ["applied"]  # the good transaction was not taken: it applies now


def test_a_sale_without_location_needs_the_skus_only_location(st: BohCore) -> None:
    st.change_catalog(
        lambda ops: ops.put_location(LocationSpec(SITE, "COLA", "endcap-1", 2, 6)), actor="test"
    )
    with pytest.raises(InvalidValue, match="has 2 stock locations"):
        post(st, sale("s", T0, 1))
    assert post(st, sale("s", T0, 1, location="endcap-1")) == ["applied"]


def test_concurrent_senders_take_each_transaction_once(db_url: str, clock: Clock) -> None:
    a, b = BohCore(db_url, clock=clock), BohCore(db_url, clock=clock)
    a.migrate()
    a.load_catalog(stock_catalog())
    barrier = threading.Barrier(2)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def work(core: BohCore, first: int) -> None:
        try:
            barrier.wait(timeout=10)
            for k in range(20):
                i = (first + k) % 20  # the same ids, in another order
                results.append(post(core, receipt(f"r{i}", T0 + i * S, 1), receipt(f"x{first}-{k}", T0, 1)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c, f)) for c, f in ((a, 0), (b, 10))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    shared = [r[0] for r in results]
    assert shared.count("applied") == 20
    assert shared.count("duplicate") == 20
    assert one(a).book_units == 20 + 40
    assert len(a.ledger(limit=1000)) == 60
    a.close()
    b.close()


# -- the sweep: phantom inventory, shrink, unsold departures --------------------------------


def test_phantom_inventory_fires_after_the_stated_time_with_its_evidence(
    st: BohCore, seq: Seqs, clock: Clock
) -> None:
    post(st, receipt("r1", T0, 12))
    st.apply_batches([seq(state(LANE_A, T0 + S, "stable", 0), state(LANE_B, T0 + S, "stable", 0))])
    clock.now = T0 + S + 3 * H - 60 * S
    assert st.sweep_stock()["phantom"] == 0
    clock.now = T0 + S + 3 * H
    assert st.sweep_stock()["phantom"] == 1
    (a,) = alerts(st, "phantom-inventory")
    assert (a.evidence["book_units"], a.evidence["sensed_units"], a.evidence["empty_since_ns"]) == (
        12,
        0,
        T0 + S,
    )
    assert (a.severity, a.evidence["empty_for_s"]) == ("major", 3 * 3600)
    assert st.sweep_stock()["phantom"] == 0  # one open alert, not one per sweep
    st.apply_batches([seq(restock(LANE_A, T0 + 4 * H, 12, 12))])
    st.sweep_stock()
    (a,) = alerts(st, "phantom-inventory")
    assert a.cleared_ns is not None


def test_an_empty_shelf_with_sales_going_on_or_no_book_stock_is_not_phantom(
    st: BohCore, seq: Seqs, clock: Clock
) -> None:
    st.apply_batches([seq(state(LANE_A, T0 + S, "stable", 0), state(LANE_B, T0 + S, "stable", 0))])
    clock.now = T0 + 5 * H
    st.sweep_stock()  # no book stock at all
    post(
        st, receipt("r1", T0, 12), sale("s1", T0 + 2 * H, 1)
    )  # sold after it emptied: the shelf is refilled somewhere
    st.sweep_stock()
    assert alerts(st, "phantom-inventory") == []


def test_units_gone_from_the_shelf_without_sales_are_likely_shrink(
    st: BohCore, seq: Seqs, clock: Clock
) -> None:
    st.apply_batches([seq(state(LANE_A, T0, "stable", 20), state(LANE_B, T0, "stable", 0))])
    st.apply_batches([seq(pick(LANE_A, T0 + 10 * 60 * S, 2, 18))])
    post(st, sale("s1", T0 + 15 * 60 * S, 2))  # paid
    st.apply_batches([seq(pick(LANE_A, T0 + 20 * 60 * S, 5, 13))])  # never paid
    clock.now = T0 + 20 * 60 * S + 30 * 60 * S - S  # before the payment lag has passed: not yet
    assert st.sweep_stock()["shrink"] == 0
    clock.now = T0 + 20 * 60 * S + 30 * 60 * S + S
    assert st.sweep_stock()["shrink"] == 1
    (a,) = alerts(st, "likely-shrink")
    assert (a.evidence["sensed_drop_units"], a.evidence["sold_units"], a.evidence["unexplained_units"]) == (
        7,
        2,
        5,
    )


def test_door_departures_are_matched_to_sales_and_unsold_ones_alerted(
    st: BohCore, seq: Seqs, clock: Clock
) -> None:
    e2 = epc(2)
    post(st, sale("s1", T0 + 100 * S, 1))
    st.apply_batches([seq(item(EPC1, T0 + 10 * S, zone="floor-1"), item(e2, T0 + 10 * S, zone="floor-1"))])
    st.apply_batches([seq(item(EPC1, T0 + 200 * S, "departed", "door-1"))])  # 100 s after a sale
    st.apply_batches([seq(item(e2, T0 + 300 * S, "departed", "door-1"))])  # the sale is taken
    deps = {d.epc: d for d in st.inventory_departures(site=SITE)}
    assert (deps[EPC1].sale_matched, deps[EPC1].sale_txn) == (True, "till-1/s1")
    assert (deps[e2].sale_matched, deps[e2].sale_txn) == (False, None)
    unsold = [
        e.detail["epc"]
        for e in st.changes(after=0, limit=1000).events
        if e.kind == "inventory.item_departed_unsold"
    ]
    assert unsold == [e2]
    clock.now = T0 + 300 * S + 900 * S - S
    assert st.sweep_stock()["departed_unsold"] == 0  # the window has not passed: a sale may still come
    clock.now = T0 + 300 * S + 900 * S + S
    assert st.sweep_stock()["departed_unsold"] == 1
    (a,) = alerts(st, "departed-unsold")
    assert (a.evidence["sku"], a.evidence["epcs"], a.evidence["departures"]) == ("COLA", [e2], 1)


def test_lane_and_rfid_events_applied_at_once_by_two_cores_leave_one_consistent_number(
    db_url: str, clock: Clock
) -> None:
    from .test_concurrency import run_together
    from .test_inventory import GW2

    a, b = BohCore(db_url, clock=clock), BohCore(db_url, clock=clock)
    a.migrate()
    a.load_catalog(stock_catalog())
    start = [batch_of(1, state(LANE_A, T0, "stable", 20), state(LANE_B, T0, "stable", 20))]
    a.apply_batches(start)
    lanes = [[batch_of(2 + i, pick(LANE_A, T0 + (i + 1) * S, 1, 19 - i))] for i in range(15)]
    items = [[batch_of(1 + i, item(epc(100 + i), T0 + (i + 1) * S), gateway=GW2)] for i in range(15)]
    out = run_together([(a, lanes), (b, items)])
    assert sum(o.applied for o in out) == 30
    s = one(a)
    assert (s.weight_units, s.rfid_units, s.units, s.source) == (25, 15, 15, "fused")
    assert s.disagreement is True
    assert len(alerts(a, "stock-disagreement")) == 1
    a.close()
    b.close()


def test_the_cloud_settings_give_the_stock_settings_and_bad_ones_are_refused() -> None:
    from bohsense.cloud.settings import CloudSettings

    got = StockSettings(**CloudSettings(phantom_after_s=600, stock_disagreement_units=2).stock_settings())
    assert (got.phantom_after_s, got.disagreement_units, got.disagreement_ratio) == (600, 2, 0.1)
    with pytest.raises(ValueError, match="phantom_after_s must be >= 0"):
        StockSettings(phantom_after_s=-1)
    with pytest.raises(ValueError, match="phantom_after_s"):
        CloudSettings(phantom_after_s=0)
