"""Proposals sized from a forecast plan or the catalog, explained; flags against history;
auto-approval under per-class limits; receipts once per receipt id; one open proposal
when the same sensed stock arrives twice from two worker processes at once."""

from __future__ import annotations

import math
import multiprocessing as mp
from collections.abc import Iterator

import pytest

from bohsense.cloud.boh import (
    ApprovalLimit,
    ApprovalPolicy,
    BohCore,
    InvalidValue,
    NotFound,
    PlanInput,
    ProposalPolicy,
    StateConflict,
)
from bohsense.models.forecast import CountDistribution

from .factory import LANE_A, LANE_B, SITE, T0, batch, catalog, units

LOC = "aisle-1/shelf-1"


def plan(**over: object) -> PlanInput:
    values: dict[str, object] = {
        "site": SITE,
        "sku": "COLA",
        "location": LOC,
        "abc": "A",
        "xyz": "X",
        "service_level": 0.95,
        "lead_time_days": 2,
        "daily_mean": 6.0,
        "lead_time_mean": 12.0,
        "lead_time_var": 30.0,
        "method": "ses-weekday",
        "as_of_ns": T0,
        "unit_cost": 0.5,
        "ordering_cost": 10.0,
        "holding_rate": 0.25,
    }
    values.update(over)
    return PlanInput(**values)  # type: ignore[arg-type]


def make(url: str, policy: ProposalPolicy | None = None) -> BohCore:
    core = BohCore(url, proposal_policy=policy)
    core.migrate()
    core.load_catalog(catalog())
    return core


@pytest.fixture
def pg_core(pg_url: str) -> Iterator[BohCore]:
    core = make(pg_url)
    yield core
    core.close()


def stock(core: BohCore, seq: int, a: float, b: float = 0.0) -> None:
    core.apply_batches([batch(seq, [units(LANE_A, seq, a), units(LANE_B, seq, b)])])


def test_a_proposal_from_a_forecast_plan_explains_every_number(core: BohCore) -> None:
    core.put_plan(plan(), actor="planner")
    stock(core, 1, 9.0)
    (p,) = core.list_proposals()
    e = core.proposal_explanation(p.id)["explanation"]
    ltd = CountDistribution(12.0, 30.0)
    rop = float(ltd.quantile(0.95))
    eoq = math.sqrt(2 * 365 * 6.0 * 10.0 / (0.25 * 0.5))
    up_to = rop + eoq
    qty = math.ceil(math.ceil(up_to - 9.0) / 6) * 6
    assert e["source"] == "forecast"
    assert e["class"] == "AX"
    assert e["service_level"] == 0.95
    assert e["forecast"]["lead_time_mean"] == 12.0
    assert e["forecast"]["lead_time_sd"] == pytest.approx(math.sqrt(30))
    assert e["reorder_point"] == rop
    assert e["safety_stock"] == pytest.approx(rop - 12.0)
    assert e["eoq"]["value"] == pytest.approx(eoq)
    assert e["eoq"]["q_source"] == "eoq"
    assert e["order_up_to"] == pytest.approx(up_to)
    assert (e["sensed_units"], e["on_order"], e["position"], e["book_units"]) == (9.0, 0.0, 9.0, None)
    assert (e["pack_size"], e["packs"], e["quantity"]) == (6, qty // 6, qty)
    assert p.quantity == qty
    assert p.reorder_point == rop
    assert p.target == pytest.approx(up_to)
    assert "EOQ" in e["text"]
    assert "service level" in e["text"]


def test_without_a_plan_the_catalog_sizes_it_and_says_so(core: BohCore) -> None:
    stock(core, 1, 2.0)
    (p,) = core.list_proposals()
    e = p.explanation
    assert e["source"] == "catalog"
    assert "no forecast" in e["source_text"]
    assert (e["reorder_point"], e["target"], e["safety_stock"], p.quantity) == (10, 40, 4, 42)
    assert e["forecast"] is None
    assert e["eoq"] is None


def test_the_shelf_capacity_and_minimum_order_bound_the_quantity(core: BohCore) -> None:
    core.put_plan(plan(shelf_capacity=30.0), actor="planner")
    stock(core, 1, 5.0)
    (p,) = core.list_proposals()
    assert p.quantity == 24
    assert p.explanation["capped_by_shelf"]
    core.put_plan(plan(ordering_cost=None, min_order=60), actor="planner")
    (p,) = core.list_proposals()
    assert p.quantity == 60
    assert p.explanation["eoq"]["q_source"] == "catalog"


def test_a_plan_is_refused_when_its_numbers_cannot_be(core: BohCore) -> None:
    with pytest.raises(InvalidValue, match="service_level"):
        core.put_plan(plan(service_level=1.0), actor="planner")
    with pytest.raises(InvalidValue, match="lead_time_var"):
        core.put_plan(plan(lead_time_var=float("nan")), actor="planner")
    with pytest.raises(NotFound):
        core.put_plan(plan(location="nowhere"), actor="planner")


def test_auto_approval_under_the_class_limit_and_a_person_above(db_url: str) -> None:
    policy = ProposalPolicy(
        approval=ApprovalPolicy({"*": ApprovalLimit(max_units=42)}), place_on_approval=True
    )
    core = make(db_url, policy)
    try:
        stock(core, 1, 2.0)  # 42 units: at the limit
        (p,) = core.list_proposals()
        assert (p.state, p.approval) == ("ordered", "auto")
        moves = [(a.from_state, a.to_state, a.actor) for a in core.audit(entity="replenishment_proposal")]
        assert moves == [(None, "proposed", "system"), ("proposed", "approved", "auto-approval"),
                         ("approved", "ordered", "auto-approval")]  # fmt: skip
        (w,) = core.list_webhooks()
        assert w.topic == "order.ordered"
        assert w.payload["data"]["approval"] == "auto"
        core.record_receipt(p.id, "r-1", 42, actor="dock")
        stock(core, 2, 1.0)  # received and closed: the next low stock opens a new one, 42 again
        (q,) = [x for x in core.list_proposals() if x.id != p.id]
        assert (q.state, q.approval) == ("ordered", "auto")
        core.transition_proposal(q.id, "cancelled", actor="buyer")
        assert [w.topic for w in core.list_webhooks()][-1] == "order.cancelled"
    finally:
        core.close()
    value_policy = ProposalPolicy(
        approval=ApprovalPolicy({"A": ApprovalLimit(max_units=100, max_value=10.0)})
    )
    core = make(db_url, value_policy)
    try:
        core.put_plan(plan(), actor="planner")
        stock(core, 5, 9.0)  # A class, value above 10: waits for a person
        (p,) = core.list_proposals(state="proposed")
        assert (p.state, p.approval) == ("proposed", "")
        assert p.quantity * 0.5 > 10.0
    finally:
        core.close()


def test_an_order_far_above_history_or_forecast_is_flagged_and_waits(db_url: str) -> None:
    policy = ProposalPolicy(approval=ApprovalPolicy({"*": ApprovalLimit(max_units=10_000)}))
    core = make(db_url, policy)
    try:
        for i in range(3):  # three past orders of 42
            stock(core, 10 * i + 1, 2.0)
            (p,) = [x for x in core.list_proposals() if x.state == "approved"]
            core.transition_proposal(p.id, "ordered", actor="planner")
            core.record_receipt(p.id, f"r-{i}", 42, actor="dock")
        core.put_plan(plan(ordering_cost=5000.0, daily_mean=1.0), actor="planner")
        stock(core, 100, 2.0)
        (p,) = [x for x in core.list_proposals() if x.state in ("proposed", "approved")]
        flags = {f["flag"]: f["reason"] for f in p.flags}
        assert set(flags) == {"above_history", "above_forecast"}
        assert "median 42" in flags["above_history"]
        assert "last 3 orders" in flags["above_history"]
        assert p.state == "proposed"
        assert p.approval == ""
        created = core.audit(entity="replenishment_proposal", entity_id=str(p.id))[0]
        assert created.detail["flags"] == ["above_history", "above_forecast"]
        assert core.approve_proposal(p.id, actor="buyer").approval == "human"
    finally:
        core.close()


def test_receipts_lower_on_order_close_the_proposal_and_repeat_safely(core: BohCore) -> None:
    stock(core, 1, 2.0)
    (p,) = core.list_proposals()
    with pytest.raises(StateConflict, match="ordered"):
        core.record_receipt(p.id, "r-1", 12, actor="dock")
    core.approve_proposal(p.id, actor="buyer")
    core.transition_proposal(p.id, "ordered", actor="buyer")
    rec, out = core.record_receipt(p.id, "r-1", 12, actor="dock")
    assert (rec.state, rec.received_units, out.repeat) == ("ordered", 12, False)
    rec, out = core.record_receipt(p.id, "r-1", 12, actor="dock")  # the same receipt again
    assert (rec.received_units, out.repeat) == (12, True)
    with pytest.raises(StateConflict, match="receipt id names one receipt"):
        core.record_receipt(p.id, "r-1", 18, actor="dock")
    stock(core, 2, 1.0)  # position 1 + on order (42 - 12) = 31 >= 10: no second proposal
    assert len(core.list_proposals()) == 1
    rec, _ = core.record_receipt(p.id, "r-2", 30, actor="dock")
    assert (rec.state, rec.received_units) == ("received", 42)
    view = core.proposal_explanation(p.id)
    assert [r["receipt_id"] for r in view["receipts"]] == ["r-1", "r-2"]
    books = core.audit(entity="stock")
    assert [(b.kind, b.detail["units"], b.detail["receipt_id"]) for b in books] == [
        ("stock.book_receipt", 12, "r-1"),
        ("stock.book_receipt", 30, "r-2"),
    ]
    kinds = [h["kind"] for h in view["history"]]
    assert kinds.count("replenishment_proposal.receipt") == 2
    assert kinds[-1] == "replenishment_proposal.received"


def test_a_short_final_receipt_closes_it_and_zero_must_be_final(core: BohCore) -> None:
    stock(core, 1, 2.0)
    (p,) = core.list_proposals()
    core.approve_proposal(p.id, actor="buyer")
    core.transition_proposal(p.id, "ordered", actor="buyer")
    with pytest.raises(InvalidValue, match="must be final"):
        core.record_receipt(p.id, "r-0", 0, actor="dock")
    rec, _ = core.record_receipt(p.id, "r-1", 30, final=True, actor="dock")
    assert (rec.state, rec.received_units) == ("received", 30)


def _policy() -> ProposalPolicy:
    return ProposalPolicy(approval=ApprovalPolicy({"*": ApprovalLimit(60)}), place_on_approval=True)


LEVELS = [3.0, 2.0, 2.0, 1.0, 1.0, 0.0]


def _apply_twice(core: BohCore, own: int, start: object) -> None:
    """The same batches (seqs 1-6: a redelivery) and the same levels under seqs of its own."""
    start.wait(30)  # type: ignore[attr-defined]
    for i, v in enumerate(LEVELS):
        core.apply_batches([batch(1 + i, [units(LANE_A, 1 + i, v)])])
        core.apply_batches([batch(own + i, [units(LANE_A, own + i, v)])])


def _worker(url: str, own: int, start: object) -> None:
    core = BohCore(url, proposal_policy=_policy())
    try:
        _apply_twice(core, own, start)
    finally:
        core.close()


def _one_open_ordered_proposal(core: BohCore) -> None:
    (p,) = core.list_proposals()
    assert p.state == "ordered"
    assert p.approval == "auto"
    created = [a for a in core.audit(entity="replenishment_proposal") if a.kind.endswith(".created")]
    assert len(created) == 1
    (w,) = core.list_webhooks()
    assert w.idempotency_key == f"order:{p.id}:ordered"


@pytest.mark.slow
def test_the_same_sensed_stock_twice_from_two_worker_processes_gives_one_open_proposal(
    pg_core: BohCore,
) -> None:
    url = pg_core._engine.url.render_as_string(hide_password=False)
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_worker, args=(url, own, start)) for own in (11, 21)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    _one_open_ordered_proposal(pg_core)


def test_the_same_sensed_stock_twice_from_two_worker_threads_gives_one_open_proposal(db_url: str) -> None:
    import threading

    first = make(db_url)
    cores = [BohCore(db_url, proposal_policy=_policy()) for _ in range(2)]
    start = threading.Event()
    errors: list[BaseException] = []

    def run(core: BohCore, own: int) -> None:
        try:
            _apply_twice(core, own, start)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c, own)) for c, own in zip(cores, (11, 21), strict=True)]
    try:
        for t in threads:
            t.start()
        start.set()
        for t in threads:
            t.join(60)
        assert not errors, errors
        _one_open_ordered_proposal(first)
    finally:
        for c in (first, *cores):
            c.close()
