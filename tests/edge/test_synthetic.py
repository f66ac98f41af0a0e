"""The synthetic driver: deterministic, steady, exactly counted; bad options rejected."""

from __future__ import annotations

import asyncio
import collections
import itertools
from typing import Any

import pytest

from bohsense.contracts.schema import Reading
from bohsense.edge.drivers.base import DriverError
from bohsense.edge.drivers.registry import build_driver
from bohsense.edge.drivers.synthetic import SyntheticDriver, expected_value
from tests.edge.conftest import until


class ListSink:
    def __init__(self) -> None:
        self.items: list[Reading] = []

    def put(self, reading: Reading) -> None:
        self.items.append(reading)


async def test_limit_produces_exactly_devices_x_metrics_x_ticks_on_the_grid() -> None:
    d = build_driver("syn", "synthetic", {"devices": 3, "metrics": ["a", "b"], "rate_hz": 200, "limit": 20})
    assert isinstance(d, SyntheticDriver)
    sink = ListSink()
    task = asyncio.create_task(d.run(sink))
    await until(lambda: d.stats()["readings"] >= 120, 5, "120 readings")
    await asyncio.sleep(0.05)  # ten more grid periods: the limit must hold
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert d.stats()["readings"] == len(sink.items) == 3 * 2 * 20
    series: dict[tuple[str, str], list[Reading]] = collections.defaultdict(list)
    for r in sink.items:
        series[(r.device, r.metric)].append(r)
    assert sorted(series) == [(f"syn-{i}", m) for i in range(3) for m in ("a", "b")]
    for rs in series.values():
        assert all(a.ts + 5_000_000 == b.ts for a, b in itertools.pairwise(rs)), "steady 200 Hz grid"
        assert all(r.ts % 5_000_000 == 0 for r in rs)
        assert all(r.value == r.ts // 5_000_000 for r in rs), "value computable from ts"


def test_readings_are_deterministic() -> None:
    opts: dict[str, Any] = {"devices": 2, "metrics": ["x"], "rate_hz": 10, "seed": 7, "waveform": "sine"}
    a = SyntheticDriver.from_options("s", opts)
    b = SyntheticDriver.from_options("s", opts)
    assert a.readings_at(12345) == b.readings_at(12345)
    assert a.readings_at(5)[1].value == expected_value("sine", 5, 7, 1)
    assert -1.0 <= a.readings_at(5)[0].value <= 1.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"devices": 0}, "'devices' must be an integer >= 1"),
        ({"devices": "3"}, "'devices' must be an integer"),
        ({"devices": True}, "'devices' must be an integer"),
        ({"metrics": []}, "'metrics' must be a non-empty list"),
        ({"metrics": ["bad metric"]}, "'metrics'"),
        ({"metrics": "temp"}, "'metrics'"),
        ({"rate_hz": 0}, "'rate_hz'"),
        ({"rate_hz": -1.5}, "'rate_hz'"),
        ({"rate_hz": "fast"}, "'rate_hz'"),
        ({"seed": 1.5}, "'seed'"),
        ({"waveform": "square"}, "'waveform'"),
        ({"limit": -1}, "'limit'"),
        ({"colour": "red"}, "unknown synthetic option(s) ['colour']"),
    ],
)
def test_bad_options_are_rejected_with_the_reason(options: dict[str, Any], message: str) -> None:
    with pytest.raises(DriverError) as info:
        SyntheticDriver.from_options("syn", options)
    assert message in str(info.value)
    assert "'syn'" in str(info.value)
