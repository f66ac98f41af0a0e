from __future__ import annotations

import math

import pytest

from bohsense.cloud.tsdb import StorageRejected, escape_tag, iter_lines
from bohsense.contracts.schema import Reading, ReadingBatch


def test_plain_ids_are_not_escaped() -> None:
    assert escape_tag("shelf-3.lane_2:a/b") == "shelf-3.lane_2:a/b"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [("a b", "a\\ b"), ("a,b", "a\\,b"), ("a=b", "a\\=b"), ("a\\b", "a\\\\b"), ("x, =y", "x\\,\\ \\=y")],
)
def test_special_characters_are_escaped(raw: str, escaped: str) -> None:
    assert escape_tag(raw) == escaped


@pytest.mark.parametrize("bad", ["", "a\nb", "a\rb"])
def test_tag_values_that_line_protocol_cannot_carry_are_rejected(bad: str) -> None:
    with pytest.raises(StorageRejected):
        escape_tag(bad)


def test_one_line_per_reading_with_sorted_tags_and_ns_time() -> None:
    batch = ReadingBatch(
        gateway="gw-1", seq=1, sent=0, readings=[Reading("dev 1", "temp_c", 1_700_000_000_123_456_789, 21.5)]
    )
    (line,) = iter_lines([batch])
    assert line == "reading,device=dev\\ 1,gateway=gw-1,metric=temp_c value=21.5 1700000000123456789"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_rejected_with_the_series(value: float) -> None:
    batch = ReadingBatch(gateway="gw-1", seq=1, sent=0, readings=[Reading("d", "m", 1, value)])
    with pytest.raises(StorageRejected, match="gw-1/d/m"):
        list(iter_lines([batch]))


def test_integral_and_huge_values_stay_floats() -> None:
    batch = ReadingBatch(
        gateway="g", seq=1, sent=0, readings=[Reading("d", "m", 5, 3.0), Reading("d", "m", 6, 1e300)]
    )
    assert [ln.split(" ")[1] for ln in iter_lines([batch])] == ["value=3.0", "value=1e+300"]
