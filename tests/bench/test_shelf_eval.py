"""Shelf scenarios through the gateway's serial stack, scored against their ground truth.

The short runs here use report seeds (never tuned on) and hold the targets; the whole
evaluation (three scenarios, two spreads, five seeds, half an hour each) is the ``long``
test at the end, and its figures are in docs/shelf.md.
"""

from __future__ import annotations

import msgspec
import pytest

from bohsense.bench._shelf_eval import REPORT_SEEDS, STANDARD_SCENARIOS, run_eval
from bohsense.bench._shelf_run import run_scenario
from bohsense.bench._shelf_score import score
from bohsense.contracts.events import Event, LaneChange
from bohsense.simulators._shelf_scenario import packaged_scenario

from .test_bench import run_cli


def short(name: str, seed: int, duration_s: float, spread: float | None = None) -> dict:  # type: ignore[type-arg]
    scenario = packaged_scenario(name, seed=seed)
    if spread is not None:
        scenario = scenario.with_changes(unit_spread=spread)
    scenario.duration_s = duration_s
    return score(run_scenario(scenario))


def assert_targets(r: dict) -> None:  # type: ignore[type-arg]
    assert r["count_exact"] >= 0.995, r
    assert r["wrong_counts_published"] == 0, r
    for kind in ("pick", "putback"):
        e = r["events"][kind]
        assert e["expected"] > 0
        assert e["precision"] >= 0.99, (kind, e, r["false_events"])
        assert e["recall"] >= 0.99, (kind, e, r["missed_events"])
    assert r["quantity_exact"] >= 0.99


def test_the_standard_shelf_on_a_report_seed_meets_the_targets_with_3_percent_spread() -> None:
    r = short("shelf-standard", REPORT_SEEDS[0], 600.0, spread=0.03)
    assert_targets(r)
    assert r["units_readings"] > 50
    assert r["count_samples"] > 6000


def test_faults_are_flagged_in_time_and_publish_no_wrong_count() -> None:
    r = short("shelf-faults", REPORT_SEEDS[1], 1200.0)
    flagged = {f["fault"]: f["flagged_after_s"] for f in r["faults"]}
    assert set(flagged) == {"dead", "stuck", "rail", "reboot", "unplug"}
    assert flagged["dead"] <= 0.5
    assert flagged["stuck"] <= 4.5  # stuck_s = 4
    assert flagged["rail"] <= 1.5  # range_s = 1
    assert flagged["reboot"] <= 2.5  # silent for 2 s, flagged at its HELLO
    assert flagged["unplug"] <= 0.5
    assert r["wrong_counts_published"] == 0
    assert r["blind_wrong"] == 0
    for kind in ("pick", "putback", "restock"):
        assert r["events"][kind]["recall"] >= 0.99, (kind, r["missed_events"])
        assert r["events"][kind]["precision"] >= 0.99, (kind, r["false_events"])


def test_the_scoring_counts_a_wrong_count_and_a_false_pick() -> None:
    scenario = packaged_scenario("shelf-standard", seed=REPORT_SEEDS[2])
    scenario.duration_s = 120.0
    run = run_scenario(scenario)
    honest = score(run)
    units = next(r for r in run.readings if r.device == "shelf-1.lane-1")
    run.readings.append(msgspec.structs.replace(units, value=units.value + 1, ts=units.ts + 10**9))
    run.events.append(
        Event("shelf-1", "shelf.pick", units.ts + 2 * 10**9, LaneChange("shelf-1.lane-1", 1, 0.9, -355.0, 0))
    )
    broken = score(run)
    assert broken["wrong_counts_published"] == honest["wrong_counts_published"] + 1
    assert broken["events"]["pick"]["detected"] == honest["events"]["pick"]["detected"] + 1
    assert broken["events"]["pick"]["precision"] < 1.0
    assert broken["false_events"][-1]["lane"] == 1


def test_shelf_bench_and_shelf_eval_end_to_end() -> None:
    out, err = run_cli("bench", "shelf", "--lanes", "6", "--seconds", "20", "--rounds", "1")
    assert out["frames"] == 200
    assert out["lanes_per_shelf"] == 6
    assert out["gateway_lane_samples_per_s"] > 0
    assert out["decode_only_frames_per_s"] > 0
    assert out["lanes_per_core_at_10hz"] == out["gateway_lane_samples_per_s"] // 10
    assert "lanes per core" in err
    out, err = run_cli(
        "bench", "shelf-eval", "--scenario", "shelf-standard", "--seed", "104", "--duration", "120",
        "--unit-spread", "0.02",
    )  # fmt: skip
    (config,) = out["configurations"]
    assert (config["scenario"], config["unit_spread"], config["seeds"]) == ("shelf-standard", 0.02, [104])
    assert config["count_samples"] > 0
    assert "shelf-standard spread ±2%" in err


@pytest.mark.long
def test_the_whole_evaluation_on_the_report_seeds() -> None:
    figures = run_eval(STANDARD_SCENARIOS, REPORT_SEEDS, [None, 0.03])
    by = {(c["scenario"], c["unit_spread"]): c for c in figures["configurations"]}
    for spread in (0.02, 0.03):
        assert_targets({**by[("shelf-standard", spread)], "missed_events": [], "false_events": []})
        faults = by[("shelf-faults", spread)]
        assert all(v["missed"] == 0 for v in faults["fault_flagged_after_s"].values())
        assert faults["events"]["pick"]["recall"] >= 0.99
