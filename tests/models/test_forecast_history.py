"""Validation of M5-format histories: every refusal names the line."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bohsense.models.forecast import HistoryError, parse_history
from tests.models.demand import HEADER, rows


def _parse(lines: list[str], **kw: bool) -> list:
    return parse_history(iter(lines), **kw)


def test_parses_generated_history_into_sorted_series() -> None:
    series = _parse(rows(days=40))
    assert [s.key for s in series] == [
        ("FOODS_1_001", "CA_1"), ("FOODS_1_001", "TX_1"),
        ("HOBBIES_1_002", "CA_1"), ("HOBBIES_1_002", "TX_1"),
    ]  # fmt: skip
    s = series[0]
    assert len(s.values) == 40
    assert s.price[0] == 2.5
    assert s.event[30] == 1.0
    assert s.event[29] == 0.0
    assert s.snap[0] == 1.0
    assert s.snap[20] == 0.0
    assert s.weekdays()[0] == 0


def test_rows_in_any_order_give_the_same_series() -> None:
    lines = rows(days=20)
    shuffled = [lines[0], *reversed(lines[1:])]
    a, b = _parse(lines), _parse(shuffled)
    for x, y in zip(a, b, strict=True):
        assert x.key == y.key
        assert x.start == y.start
        np.testing.assert_array_equal(x.values, y.values)


def test_missing_price_is_nan_and_extra_columns_are_ignored() -> None:
    lines = ["store_id,item_id,date,value,whatever", "S,I,2020-01-01,3,x", "S,I,2020-01-02,0,y"]
    (s,) = _parse(lines)
    assert s.values.tolist() == [3.0, 0.0]
    assert all(math.isnan(p) for p in s.price)


@pytest.mark.parametrize(
    ("bad", "line", "words"),
    [
        ("I,S,2020-01-02,abc", 3, "value 'abc' is not a number"),
        ("I,S,2020-01-02,-2", 3, "negative"),
        ("I,S,2020-01-02,inf", 3, "not a finite number"),
        ("I,S,2020-02-30,1", 3, "not a YYYY-MM-DD day"),
        ("I,S,yesterday,1", 3, "not a YYYY-MM-DD day"),
        ("I,S,2020-01-01,1", 3, "appears twice (first on line 2)"),
        ("I,S,2020-01-02", 3, "3 fields where the header has 4"),
        (",S,2020-01-02,1", 3, "empty item_id"),
    ],
)
def test_bad_rows_are_refused_naming_the_line(bad: str, line: int, words: str) -> None:
    lines = ["item_id,store_id,date,value", "I,S,2020-01-01,1", bad, "I,S,2020-01-03,1"]
    with pytest.raises(HistoryError) as exc:
        _parse(lines)
    assert exc.value.row == line
    assert words in str(exc.value)
    assert str(exc.value).startswith(f"line {line}:")


def test_missing_required_column_is_named() -> None:
    with pytest.raises(HistoryError, match=r"line 1: missing required column\(s\): value"):
        _parse(["item_id,store_id,date,units", "I,S,2020-01-01,1"])


def test_non_numeric_price_and_bad_snap_are_refused() -> None:
    with pytest.raises(HistoryError, match="line 2: sell_price 'cheap'"):
        _parse(["item_id,store_id,date,value,sell_price", "I,S,2020-01-01,1,cheap"])
    with pytest.raises(HistoryError, match="line 2: snap 'yes' is not 0 or 1"):
        _parse(["item_id,store_id,date,value,snap", "I,S,2020-01-01,1,yes"])


def test_gap_refused_unless_filled_as_zero_sale_days() -> None:
    lines = ["item_id,store_id,date,value", "I,S,2020-01-01,4", "I,S,2020-01-04,2"]
    with pytest.raises(HistoryError) as exc:
        _parse(lines)
    assert exc.value.row == 3
    assert "2020-01-02 … 2020-01-03" in exc.value.reason
    (s,) = _parse(lines, fill_gaps=True)
    assert s.values.tolist() == [4.0, 0.0, 0.0, 2.0]


def test_empty_inputs_are_refused() -> None:
    with pytest.raises(HistoryError, match="no header"):
        _parse([])
    with pytest.raises(HistoryError, match="no rows"):
        _parse([HEADER])
