"""The cost of a call does not grow with readings: SQL statements are counted, not timed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from bohsense.cloud.boh import BohCore
from bohsense.contracts.schema import Reading

from .factory import LANE_A, T0, S, batch, units, vib


@contextmanager
def count_statements(core: BohCore) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(core._engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(core._engine, "before_cursor_execute", record)


def unmapped_call(first_seq: int, t0: int) -> list[Any]:
    return [
        batch(
            first_seq + b,
            [Reading(f"dev-{i % 40}", "temp_c", t0 + (b * 100 + i) * 1000, 1.0) for i in range(100)],
        )
        for b in range(50)
    ]


def test_unmapped_readings_cost_no_per_reading_sql(core: BohCore) -> None:
    core.apply_batches(unmapped_call(1, T0))  # first sight registers the 40 devices
    with count_statements(core) as statements:
        out = core.apply_batches(unmapped_call(51, T0 + S))
    assert out.readings_applied == 5000
    # BEGIN, lock the gateway row, read the seqs recorded above it, move the watermark
    assert len(statements) <= 5, statements
    assert len(core.list_devices(kind="unknown", limit=1000)) == 40


def test_mapped_readings_cost_a_few_statements_per_call(core: BohCore) -> None:
    core.apply_batches([batch(1, [units(LANE_A, 0, 20), vib(0, 1)])])
    readings = [units(LANE_A, i / 100, 20 - i % 3) for i in range(1, 300)] + [
        vib(i / 10, 2) for i in range(1, 300)
    ]
    with count_statements(core) as statements:
        core.apply_batches([batch(2 + i, readings[i * 100 : (i + 1) * 100]) for i in range(6)])
    # the stock truth adds three per changed location: lock its sensed row, write it, and
    # append the change of its trusted count, after locking it first; the stock rule reads the book stock
    assert len(statements) <= 18, statements
    assert core.list_alerts() == []  # 2 < LIMIT
    assert core.stock_levels()[0].units == 20 - 299 % 3
