from __future__ import annotations

import pytest

from bohsense.contracts.devices import lane_device, parse_lane_device


def test_lane_names_round_trip() -> None:
    assert lane_device("shelf-01", 2) == "shelf-01.lane-2"
    assert parse_lane_device("shelf-01.lane-2") == ("shelf-01", 2)
    assert parse_lane_device("store:7/shelf.a.lane-12") == ("store:7/shelf.a", 12)


@pytest.mark.parametrize(
    "name", ["shelf-01/lane-1", "shelf-01.lane-0", "lane-3", "shelf-01.lane-", "s .lane-1", ".lane-1"]
)
def test_what_is_not_a_lane_name(name: str) -> None:
    assert parse_lane_device(name) is None


def test_lanes_count_from_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        lane_device("shelf-01", 0)
