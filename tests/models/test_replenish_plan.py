"""The nightly plan: one row per item x store, what is on order counted, never ordering
twice for the same need, and ``bohsense replenish plan`` as a user runs it."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bohsense.models.forecast import Series, parse_history
from bohsense.models.replenish._arithmetic import parse_weekdays
from bohsense.models.replenish._plan import COLUMNS, PlanConfig, StockRow, partition, plan_pair, plan_store
from bohsense.models.replenish._run import run_local
from tests.models.demand import rows, write

SERIES = parse_history(rows(days=240, stores=("CA_1", "TX_1", "TX_2")))
SMOOTH = next(s for s in SERIES if s.item_id.startswith("FOODS"))
CONFIG = PlanConfig(service_level=0.95)


def _row(s: Series, stock: StockRow, config: PlanConfig = CONFIG) -> dict[str, str]:
    cells = plan_pair(s, stock, "A", config)
    return dict(zip(COLUMNS, cells, strict=True))


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 60),
    st.integers(0, 60),
    st.integers(1, 12),
    st.integers(0, 30),
    st.one_of(st.none(), st.integers(0, 150)),
)
def test_on_order_counts_like_stock_and_a_second_run_orders_nothing(
    on_hand: int, on_order: int, pack: int, min_order: int, capacity: int | None
) -> None:
    stock = StockRow(on_hand=on_hand, on_order=on_order, pack=pack, min_order=min_order, capacity=capacity)
    first = _row(SMOOTH, stock)
    # what is on order lowers the order exactly as stock on the shelf does
    moved = _row(SMOOTH, dataclasses.replace(stock, on_hand=on_hand + on_order, on_order=0))
    assert moved["order_qty"] == first["order_qty"]
    qty = int(first["order_qty"])
    assert qty % pack == 0
    assert qty == 0 or qty >= min_order
    if capacity is not None:
        assert qty == 0 or on_hand + on_order + qty <= capacity
    level = int(first["order_up_to"])
    if capacity is None:
        assert on_hand + on_order + qty >= level  # the need is met when the shelf has room
    # the same night again, with tonight's order now on order: nothing more is ordered
    again = _row(SMOOTH, dataclasses.replace(stock, on_order=on_order + qty))
    assert again["order_qty"] == "0"
    assert again["order_up_to"] == first["order_up_to"]


def test_no_order_on_a_day_the_supplier_takes_none() -> None:
    # the history ends on a Tuesday: the plan day is a Wednesday
    day = SMOOTH.end + dt.timedelta(days=1)
    assert day.weekday() == 2
    closed = _row(SMOOTH, StockRow(order_days=parse_weekdays("Thu")))
    assert closed["order_qty"] == "0"
    assert closed["order_date"] == (day + dt.timedelta(days=1)).isoformat()
    assert "no order day" in closed["note"]
    assert int(closed["order_up_to"]) > 0
    # ordering on Thursday only: the order must last a week on top of the lead time
    weekly = int(closed["lead_days"]), int(closed["review_days"])
    assert weekly == (2, 7)
    daily = _row(SMOOTH, StockRow())
    assert (int(daily["lead_days"]), int(daily["review_days"])) == (2, 1)
    assert int(daily["order_qty"]) > 0
    assert int(closed["order_up_to"]) > 2 * int(daily["order_up_to"])


def test_eoq_picks_continuous_review_for_costly_orders_and_capacity_caps_the_level() -> None:
    rs = _row(SMOOTH, StockRow())
    assert (rs["policy"], rs["eoq"]) == ("RS", "")
    sq = _row(SMOOTH, StockRow(order_cost=40.0, holding_cost=1.0, pack=6))
    assert sq["policy"] == "sQ"
    quantity = int(sq["eoq"])
    assert quantity % 6 == 0
    assert quantity > float(sq["protection_demand"]) - float(sq["lead_demand"])
    assert int(sq["order_qty"]) % quantity == 0
    assert int(sq["order_qty"]) >= int(sq["reorder_point"])
    small = _row(SMOOTH, StockRow(capacity=10, on_hand=4))
    assert small["order_up_to"] == "10"
    assert small["order_qty"] == "6"
    assert "level capped at capacity" in small["note"]


def test_a_plan_for_a_past_day_sees_only_the_days_before_it() -> None:
    day = SMOOTH.start + dt.timedelta(days=150)
    past = _row(SMOOTH, StockRow(), dataclasses.replace(CONFIG, plan_date=day))
    cut = Series(
        SMOOTH.item_id, SMOOTH.store_id, SMOOTH.start, SMOOTH.values[:150], SMOOTH.price[:150],
        SMOOTH.snap[:150], SMOOTH.event[:150],
    )  # fmt: skip
    assert past == _row(cut, StockRow())
    assert past["order_date"] == day.isoformat()


def test_stores_are_planned_alone_and_put_together_in_order() -> None:
    parts = partition(SERIES, None, StockRow())
    assert [p.store_id for p in parts] == ["CA_1", "TX_1", "TX_2"]
    one = run_local(parts, CONFIG, 1)
    assert one == [line for p in parts for line in plan_store(p, CONFIG)]
    assert run_local(parts, CONFIG, 2) == one
    # a store's rows do not depend on the other stores
    assert plan_store(parts[1], CONFIG) == one[2:4]
    assert len({line.split(",")[1] for line in one[:2]}) == 1


def _plan(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bohsense", "replenish", "plan", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def test_plan_prints_one_row_per_pair_with_the_stock_file_applied(tmp_path: Path) -> None:
    hist = write(tmp_path / "h.csv.gz", rows(days=240, stores=("CA_1", "TX_1")), gz=True)
    stock = tmp_path / "stock.csv"
    stock.write_text(
        "item_id,store_id,on_hand,on_order,pack_size,min_order,order_days,delivery_days,lead_time_days\n"
        "FOODS_1_001,CA_1,5,7,12,24,,,\n"
        "HOBBIES_1_002,CA_1,0,0,,,Thu,Mon|Tue|Wed|Thu|Fri,3\n"
        "FOODS_1_001,TX_1,,,,,,,\n"
        "HOBBIES_1_002,TX_1,1000,0,,,,,\n"
    )
    out = _plan("--history", str(hist), "--stock", str(stock), "--workers", "1")
    assert out.returncode == 0, out.stderr
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["item_id"], r["store_id"]) for r in table] == [
        ("FOODS_1_001", "CA_1"), ("HOBBIES_1_002", "CA_1"), ("FOODS_1_001", "TX_1"), ("HOBBIES_1_002", "TX_1"),
    ]  # fmt: skip
    assert list(table[0]) == list(COLUMNS)
    a, b, c, d = table
    assert (a["on_hand"], a["on_order"], a["position"]) == ("5.00", "7", "12.00")
    assert int(a["order_qty"]) % 12 == 0
    assert int(a["order_qty"]) >= 24
    assert b["order_qty"] == "0"
    assert "no order day" in b["note"]
    # Thursday + 3 days is a Sunday: delivered on Monday
    assert dt.date.fromisoformat(b["arrival_date"]).weekday() == 0
    assert int(c["order_qty"]) == int(c["order_up_to"])  # nothing on hand, nothing on order
    assert d["order_qty"] == "0"  # plenty on the shelf
    for r in table:
        assert r["abc"] in "ABC"
        assert r["xyz"] in "XYZ"
        assert r["policy"] in ("RS", "sQ")
        assert float(r["safety_stock"]) == pytest.approx(
            int(r["order_up_to"]) - float(r["protection_demand"]), abs=0.011
        )
    assert "stores" in out.stderr  # progress
    again = _plan("--history", str(hist), "--stock", str(stock), "--workers", "2")
    assert again.stdout == out.stdout


def test_plan_writes_the_output_file_only_when_complete(tmp_path: Path) -> None:
    hist = write(tmp_path / "h.csv", rows(days=120, stores=("CA_1",)))
    target = tmp_path / "plan.csv"
    out = _plan("--history", str(hist), "--output", str(target), "--workers", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert target.read_text().splitlines()[0] == ",".join(COLUMNS)
    assert len(target.read_text().splitlines()) == 3
    assert not (tmp_path / "plan.csv.part").exists()
    nowhere = _plan("--history", str(hist), "--output", str(tmp_path / "no" / "plan.csv"), "--workers", "1")
    assert nowhere.returncode == 2
    assert "cannot write" in nowhere.stderr


BAD_STOCK = {
    "unknown column": ("item_id,store_id,shelf\nFOODS_1_001,CA_1,3\n", "line 1: unknown column(s) shelf"),
    "not a number": (
        "item_id,store_id,on_hand\nFOODS_1_001,CA_1,lots\n",
        "line 2: on_hand 'lots' is not a number",
    ),
    "negative": ("item_id,store_id,on_order\nFOODS_1_001,CA_1,-4\n", "line 2: on_order '-4' must be >= 0"),
    "pack 0": ("item_id,store_id,pack_size\nFOODS_1_001,CA_1,0\n", "line 2: pack_size '0' must be >= 1"),
    "twice": (
        "item_id,store_id\nFOODS_1_001,CA_1\nHOBBIES_1_002,CA_1\nFOODS_1_001,CA_1\n",
        "line 4: FOODS_1_001 at CA_1 is listed twice",
    ),
    "weekday": (
        "item_id,store_id,order_days\nFOODS_1_001,CA_1,Mon|Xyz\n",
        "line 2: weekday 'xyz' is not one of",
    ),
    "no history": (
        "item_id,store_id\nFOODS_1_001,CA_1\nHOBBIES_1_002,CA_1\nFOODS_1_003,CA_1\n",
        "line 4: FOODS_1_003 at CA_1 has no demand history",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_STOCK))
def test_a_bad_stock_file_exits_2_naming_the_line(tmp_path: Path, case: str) -> None:
    text, words = BAD_STOCK[case]
    hist = write(tmp_path / "h.csv", rows(days=60, stores=("CA_1",)))
    stock = tmp_path / "stock.csv"
    stock.write_text(text)
    out = _plan("--history", str(hist), "--stock", str(stock), "--workers", "1")
    assert out.returncode == 2
    assert out.stdout == ""
    assert words in out.stderr
    assert out.stderr.startswith("bohsense replenish plan: ")


@pytest.mark.long  # one process per bad parameter (~11 s)
def test_bad_plan_parameters_exit_2(tmp_path: Path) -> None:
    hist = str(write(tmp_path / "h.csv", rows(days=60, stores=("CA_1",))))
    for args, words in (
        (("--service-level", "1.2"), "service level 1.2"),
        (("--window-days", "7"), "window 7 days"),
        (("--order-days", "Funday"), "weekday 'funday'"),
        (("--pack-size", "0"), "pack size 0"),
        (("--date", "2020-02-30"), "--date '2020-02-30'"),
        (("--dask-local", "0"), "--dask-local 0"),
        (("--class-targets", "Q=0.9"), "class target Q=0.9"),
    ):
        out = _plan("--history", hist, *args)
        assert out.returncode == 2, args
        assert out.stdout == ""
        assert words in out.stderr


def _split(tmp_path: Path, lines: list[str], key: Callable[[str], str]) -> Path:
    folder = tmp_path / "history"
    folder.mkdir()
    groups: dict[str, list[str]] = {}
    for line in lines[1:]:
        groups.setdefault(key(line), []).append(line)
    for name, group in groups.items():
        write(folder / f"{name}.csv.gz", [lines[0], *group], gz=True)
    return folder


@pytest.mark.long  # plans every store twice (~11 s)
def test_a_directory_of_store_files_gives_the_single_files_plan(tmp_path: Path) -> None:
    lines = rows(days=150, stores=("CA_1", "TX_1", "TX_2"))
    whole = _plan("--history", str(write(tmp_path / "all.csv", lines)), "--workers", "1")
    assert whole.returncode == 0, whole.stderr
    folder = _split(tmp_path, lines, lambda line: line.split(",")[2])
    split = _plan("--history", str(folder), "--workers", "2")
    assert split.returncode == 0, split.stderr
    assert split.stdout == whole.stdout
    assert "3 history files" in split.stderr
    # the stock files carry the same names; a bad row is named with its file
    stock = tmp_path / "stock"
    stock.mkdir()
    for name in ("CA_1", "TX_1", "TX_2"):
        (stock / f"{name}.csv").write_text(
            f"item_id,store_id,on_hand\nFOODS_1_001,{name},3\nHOBBIES_1_002,{name},0\n"
        )
    with_stock = _plan("--history", str(folder), "--stock", str(stock), "--workers", "1")
    assert with_stock.returncode == 0, with_stock.stderr
    assert with_stock.stdout != whole.stdout
    (stock / "TX_2.csv").write_text("item_id,store_id,on_hand\nFOODS_1_001,TX_2,3\n")
    bad = _plan("--history", str(folder), "--stock", str(stock), "--workers", "1")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert f"{folder / 'TX_2.csv.gz'}: line " in bad.stderr
    assert "unknown item HOBBIES_1_002 at store TX_2" in bad.stderr
    (stock / "TX_2.csv").unlink()
    missing = _plan("--history", str(folder), "--stock", str(stock), "--workers", "1")
    assert missing.returncode == 2
    assert "no stock file" in missing.stderr
    assert "TX_2.csv.gz" in missing.stderr


def test_a_store_split_over_two_files_is_refused(tmp_path: Path) -> None:
    lines = rows(days=60, stores=("CA_1",))
    folder = _split(tmp_path, lines, lambda line: line.split(",")[0])  # by item: CA_1 in both
    out = _plan("--history", str(folder), "--workers", "1")
    assert out.returncode == 2
    assert out.stdout == ""
    assert "store CA_1 is in" in out.stderr
    assert "a store's rows must be in one file" in out.stderr
