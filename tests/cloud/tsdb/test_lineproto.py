from __future__ import annotations

import math

import pytest

from bohsense.cloud.tsdb import StorageRejected, escape_tag, iter_lines
from bohsense.cloud.tsdb._lineproto import chunked_lines
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
    assert line == "condition,device=dev\\ 1,gateway=gw-1 temp_c=21.5 1700000000123456789"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_rejected_with_the_series(value: float) -> None:
    batch = ReadingBatch(gateway="gw-1", seq=1, sent=0, readings=[Reading("d", "m", 1, value)])
    with pytest.raises(StorageRejected, match="gw-1/d/m"):
        list(iter_lines([batch]))


def test_integral_and_huge_values_stay_floats() -> None:
    batch = ReadingBatch(
        gateway="g", seq=1, sent=0, readings=[Reading("d", "m", 5, 3.0), Reading("d", "m", 6, 1e300)]
    )
    assert [ln.split(" ")[1] for ln in iter_lines([batch])] == ["m=3.0", "m=1e+300"]


def _batch(*readings: Reading, gateway: str = "gw-1") -> ReadingBatch:
    return ReadingBatch(gateway=gateway, seq=1, sent=0, readings=list(readings))


@pytest.mark.parametrize(
    "readings",
    [
        [Reading("d1", "temp_c", 1, 1.5), Reading("d2", "rms", 2, -2e-7)],
        [Reading("d 1", "temp_c", 1, 1.5), Reading("d2", "rms", 2, 3.0)],  # needs escaping
        [Reading("d,1", "m=x", 1, 1.5)],
        [Reading("a\\b", "m", 1, 1.5)],
        [Reading("infrared", "nan", 1, 1.5)],  # ids that look like special values are fine
    ],
)
def test_fast_chunks_equal_the_careful_formatter(readings: list[Reading]) -> None:
    batches = [_batch(*readings), _batch(Reading("x", "y", 9, 0.25), gateway="gw-2")]
    expected = list(iter_lines(batches))
    for size in (1, 2, 5000):
        chunks = chunked_lines(batches, size)
        assert [ln for body, _ in chunks for ln in body.split("\n")] == expected
        assert [n for _, n in chunks] == [len(body.split("\n")) for body, _ in chunks]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_fast_chunks_reject_non_finite_values(value: float) -> None:
    with pytest.raises(StorageRejected, match="not a finite number"):
        chunked_lines([_batch(Reading("d", "m", 1, 1.0), Reading("d", "m", 2, value))], 5000)


@pytest.mark.parametrize("bad", [Reading("", "m", 1, 1.0), Reading("d", "", 1, 1.0)])
def test_fast_chunks_reject_empty_ids(bad: Reading) -> None:
    with pytest.raises(StorageRejected, match="empty tag"):
        chunked_lines([_batch(bad)], 5000)
