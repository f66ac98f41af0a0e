"""The nightly plan on the development data (../shared/data/demand beside the checkout):
the same bytes on one process and on a two-worker Dask cluster, and a 420-day window that
plans as the whole history does. Minutes on a shared machine, so behind the long marker;
the figures are in docs/replenishment-plan.md."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "demand" / "m5_subset_dev.csv.gz"

pytestmark = pytest.mark.long


def _plan(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "bohsense", "replenish", "plan", "--history", str(DATA), *args],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_development_data_plans_the_same_on_dask_and_with_the_window() -> None:
    assert DATA.exists(), f"no development data at {DATA}: see ../shared/data/README.md"
    single = _plan("--workers", "1")
    rows = list(csv.DictReader(io.StringIO(single)))
    assert len(rows) == 196
    assert {r["store_id"] for r in rows} == {"CA_1", "CA_2", "CA_3", "CA_4", "TX_1", "TX_2", "TX_3"}
    assert _plan("--dask-local", "2").encode() == single.encode()
    whole = list(csv.DictReader(io.StringIO(_plan("--workers", "2", "--window-days", "2000"))))
    a = [int(r["order_up_to"]) for r in rows]
    b = [int(r["order_up_to"]) for r in whole]
    assert [r["method"] for r in rows] == [r["method"] for r in whole]
    assert sum(x == y for x, y in zip(a, b, strict=True)) >= 0.7 * len(a)
    assert abs(sum(a) - sum(b)) <= 0.01 * sum(b)
