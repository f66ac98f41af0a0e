"""Domain events: one typed row per change, in the change's transaction, with ids a
"changes since" reader can follow; on PostgreSQL with concurrent transactions too."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from bohsense.cloud.boh import BohCore
from bohsense.cloud.boh._db import make_engine, migrate, write_conn
from bohsense.cloud.boh._domain_events import KINDS, DomainEvent, changes_since, emit, flush

from .factory import DURATION_S, LANE_A, LIMIT, batch, units, vib


def event(name: str) -> DomainEvent:
    return DomainEvent("quarantine.reapplied", "quarantine", name, "apply-failed", "reapplied", 1)


def ids(engine: sa.Engine, after: int = 0) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(e.id, e.entity_id) for e in changes_since(conn, after, 100).events]


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(pg_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown domain event kind"):
        DomainEvent("alert.exploded", "alert", "1", "open", "open", 1)
    assert "alert.escalated" in KINDS


def test_every_change_of_a_fault_and_its_work_order_is_a_typed_event(core: BohCore) -> None:
    start = core.changes(after=0, limit=1000).next_after
    core.apply_batches([batch(1, [vib(t, LIMIT + 1) for t in range(0, DURATION_S + 1, 5)])])
    core.apply_batches([batch(2, [units(LANE_A, 1, 2)])])
    (wo,) = core.list_work_orders()
    core.transition_work_order(wo.id, "in_progress", actor="tech")
    (p,) = core.list_proposals()
    core.approve_proposal(p.id, actor="planner", quantity=p.quantity + 6)
    page = core.changes(after=start, limit=1000)
    assert [e.kind for e in page.events] == [
        "alert.opened",
        "work_order.created",
        "stock.low",  # the lane's count is below the reorder point: the level, then the proposal
        "replenishment_proposal.created",
        "work_order.in_progress",
        "replenishment_proposal.quantity_set",
        "replenishment_proposal.approved",
    ]
    assert page.next_after == page.events[-1].id
    assert [e.id for e in page.events] == sorted(e.id for e in page.events)


def test_a_rolled_back_transaction_leaves_no_event(core: BohCore) -> None:
    before = core.changes(after=0, limit=1000).next_after

    def change_that_fails() -> None:
        with write_conn(core._engine) as conn:
            emit(conn, event("lost"))
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert core.changes(after=before, limit=10).events == []


def test_ids_follow_commit_order_on_postgresql(pg_engine: sa.Engine) -> None:
    """T1 emits first but commits last: its event gets the larger id, so a reader that
    moved past T2's event still reads T1's."""
    with write_conn(pg_engine) as t1:
        emit(t1, event("t1"))
        with write_conn(pg_engine) as t2:
            emit(t2, event("t2"))
        seen = ids(pg_engine)
        assert [name for _, name in seen] == ["t2"]  # only committed events
        cursor = seen[-1][0]
    assert [name for _, name in ids(pg_engine, cursor)] == ["t1"]


def test_a_transaction_writing_events_waits_for_the_one_committing_before_it(pg_engine: sa.Engine) -> None:
    """Two concurrent transactions: once T1 has taken its ids, T2 cannot take any until T1
    commits, so no reader ever sees T2's id without T1's smaller one."""
    t2_done = threading.Event()
    errors: list[BaseException] = []

    def t2() -> None:
        try:
            with write_conn(pg_engine) as conn:
                emit(conn, event("t2"))
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            t2_done.set()

    with write_conn(pg_engine) as t1:
        emit(t1, event("t1"))
        flush(t1)  # T1 has its id and holds the commit-order lock
        thread = threading.Thread(target=t2)
        thread.start()
        assert not t2_done.wait(0.5)  # T2 waits for T1's commit
        assert ids(pg_engine) == []  # neither is visible yet
    thread.join(10)
    assert t2_done.is_set()
    assert not errors
    seen = ids(pg_engine)
    assert [name for _, name in seen] == ["t1", "t2"]
    assert seen[0][0] < seen[1][0]
