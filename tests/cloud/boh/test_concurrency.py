"""Two cores on one database (PostgreSQL, and SQLite in WAL mode), applying at the same time:
still each seq once, one alert, one proposal."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from bohsense.cloud.boh import BohCore
from bohsense.cloud.ports import ApplyOutcome
from bohsense.contracts.schema import ReadingBatch

from .factory import DURATION_S, GW, LANE_A, LIMIT, T0, batch, catalog, units, vib


@pytest.fixture
def cores(db_url: str) -> Iterator[tuple[BohCore, BohCore]]:
    a, b = BohCore(db_url), BohCore(db_url)
    a.migrate()
    a.load_catalog(catalog())
    yield a, b
    a.close()
    b.close()


def run_together(jobs: list[tuple[BohCore, list[list[ReadingBatch]]]]) -> list[ApplyOutcome]:
    barrier = threading.Barrier(len(jobs))
    results: list[ApplyOutcome] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(core: BohCore, calls: list[list[ReadingBatch]]) -> None:
        try:
            barrier.wait(timeout=10)
            for call in calls:
                out = core.apply_batches(call)
                with lock:
                    results.append(out)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)
    return results


def fault_calls(first_seq: int, calls: int) -> list[list[ReadingBatch]]:
    out, seq = [], first_seq
    for c in range(calls):
        t = c * 10
        out.append(
            [batch(seq + i, [vib(t + i * 5, LIMIT + 1), vib(t + i * 5 + 2.5, LIMIT + 2)]) for i in range(2)]
        )
        seq += 2
    return out


def test_concurrent_workers_open_one_alert_and_apply_each_seq_once(cores: tuple[BohCore, BohCore]) -> None:
    a, b = cores
    same = fault_calls(1, 10)  # both workers receive the same 20 batches (a redelivery)
    results = run_together([(a, same), (b, same), (a, fault_calls(21, 10)), (b, fault_calls(41, 10))])
    assert sum(r.applied for r in results) == 60
    assert sum(r.duplicates for r in results) == 20
    assert a.get_gateway(GW).watermark == 60
    (alert,) = a.list_alerts()
    assert alert.evidence["duration_s"] >= DURATION_S
    assert len(b.list_work_orders()) == 1
    assert len(a.audit(entity="alert")) == 1


def test_concurrent_low_stock_opens_one_proposal(cores: tuple[BohCore, BohCore]) -> None:
    a, b = cores
    calls_a = [[batch(s, [units(LANE_A, s, 1)])] for s in range(1, 21)]
    calls_b = [[batch(s, [units(LANE_A, s, 2)])] for s in range(21, 41)]
    run_together([(a, calls_a), (b, calls_b)])
    (p,) = b.list_proposals()
    assert p.state == "proposed"
    assert a.stock_levels()[0].as_of_ns == T0 + 40 * 10**9


def test_the_database_itself_refuses_a_second_open_alert(cores: tuple[BohCore, BohCore]) -> None:
    a, _ = cores
    a.apply_batches(fault_calls(1, 4)[0] + fault_calls(3, 4)[3])
    (alert,) = a.list_alerts()
    engine = sa.create_engine(a._engine.url)
    try:
        with (
            pytest.raises(
                sa.exc.IntegrityError,
                match=r"uq_alerts_open_asset_condition|UNIQUE constraint failed: alerts.asset_id, alerts.condition",
            ),
            engine.begin() as conn,
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO alerts (asset_id, site, condition, severity, state, opened_ns, updated_ns, "
                    "evidence, what_to_check) VALUES ('cooler-1', 's', 'vibration-high', 'minor', 'acknowledged', "
                    "0, 0, '{}', '')"
                )
            )
    finally:
        engine.dispose()
    assert [x.id for x in a.list_alerts()] == [alert.id]
