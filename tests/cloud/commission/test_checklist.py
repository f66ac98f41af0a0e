"""The checklist's decisions, on a plan and what was seen (no I/O)."""

from __future__ import annotations

import pytest

from bohsense.cloud.commission import Observed, checklist, read_plan
from tests.cloud.commission.sheets import EXAMPLE

NOW = 1_800_000_000 * 10**9
S = 10**9
PLAN = read_plan(EXAMPLE.read_bytes())


def _lane(weight: float, age_s: float = 1.0, tolerance: float = 0.3) -> tuple[str, str]:
    seen = Observed(NOW, latest={("shelf-01.lane-1", "weight_g"): (NOW - int(age_s * S), weight)})
    result = checklist(PLAN, seen, imported_ns=NOW, tolerance=tolerance)
    (item,) = [i for i in result.items if i.subject == "shelf-01.lane-1"]
    return item.status, item.reason


@pytest.mark.parametrize(
    ("weight", "status", "words"),
    [
        (0.0, "pass", "0 × 352 g"),  # an empty lane is plausible
        (352 * 12 + 100.0, "pass", "12 of 12"),  # 0.28 of a unit over a whole number: within 0.3
        (352 * 3 + 110.0, "fail", "off by 0.31"),
        (352 * 13, "fail", "more than its capacity of 12"),
        (-352.0, "fail", "below the empty lane: check its tare"),
        (-50.0, "pass", "0 × 352 g"),  # a little below zero: drift within the tolerance
    ],
)
def test_a_lane_is_whole_units_within_tolerance_and_capacity(weight: float, status: str, words: str) -> None:
    got, reason = _lane(weight)
    assert got == status, reason
    assert words in reason


def test_old_data_is_not_live_and_no_data_is_missing() -> None:
    assert _lane(352.0, age_s=601) == ("fail", "last weight 10 min ago")
    result = checklist(PLAN, Observed(NOW), imported_ns=NOW)
    assert {i.status for i in result.items} == {"missing"}
    assert not result.ok


def test_the_gateway_is_pass_only_online() -> None:
    for state, status in (("online", "pass"), ("offline", "fail"), ("lost", "fail")):
        seen = Observed(NOW, gateway_state=state, gateway_status_ns=NOW - 300 * S)
        (item,) = [i for i in checklist(PLAN, seen, imported_ns=NOW).items if i.check == "gateway"]
        assert item.status == status
    assert item.reason == "the gateway is lost (5 min ago)"


def test_a_device_the_core_saw_counts_as_reporting() -> None:
    seen = Observed(NOW, last_seen={"vib-02": NOW - 5 * S})
    items = {i.subject: i for i in checklist(PLAN, seen, imported_ns=NOW).items}
    assert items["vib-02"].status == "pass"
    assert items["hvac-01"].status == "pass"


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        checklist(PLAN, Observed(NOW), imported_ns=NOW, tolerance=0.5)
    with pytest.raises(ValueError, match="max_age_s"):
        checklist(PLAN, Observed(NOW), imported_ns=NOW, max_age_s=0)
