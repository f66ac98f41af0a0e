"""``bohsense bench condition``: the scoring on hand-made timelines (known answers), the
alert policy, and the command end to end on one small scenario (sane JSON; no figure or
speed asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bohsense.bench._condition import Policy, _Alerts, aggregate, score_timeline
from bohsense.models.vibration import CLASSES

ROOT = Path(__file__).parents[2]
D = 86_400.0


def _truth(
    faults: list[tuple[str, float, float]], sensor: list[tuple[float, float | None]] = (), days: float = 30.0
) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "duration_s": days * D,
        "faults": [{"kind": k, "onset_s": a * D, "failure_s": b * D} for k, a, b in faults],
        "sensor_faults": [
            {"kind": "spikes", "onset_s": a * D, "end_s": None if b is None else b * D} for a, b in sensor
        ],
    }


def test_a_false_alert_before_onset_and_a_detection_after_it() -> None:
    s = score_timeline(_truth([("outer_race", 10, 25)]), [(5 * D, 6 * D), (12 * D, None)], learn_s=2 * D)
    (f,) = s["faults"]
    assert f["detected"]
    assert not f["masked"]
    assert f["first_alert_s"] == 12 * D
    assert f["lead_s"] == 13 * D
    assert f["alert_share"] == pytest.approx(2 / 15)
    assert s["false_alerts"] == 1
    assert s["healthy_s"] == 8 * D
    assert s["false_alerts_per_30d"] == 3.75
    assert s["sensor_fault_violations"] == 0


def test_an_alert_raised_before_onset_and_still_open_is_false_and_masks_the_detection() -> None:
    s = score_timeline(_truth([("imbalance", 10, 25)]), [(9 * D, None)], learn_s=2 * D)
    (f,) = s["faults"]
    assert (f["detected"], f["masked"], f["first_alert_s"], f["lead_s"]) == (True, True, 10 * D, 15 * D)
    assert s["false_alerts"] == 1


def test_alerts_that_end_before_onset_or_come_after_failure_detect_nothing() -> None:
    s = score_timeline(_truth([("ball", 10, 25)]), [(3 * D, 4 * D), (26 * D, None)], learn_s=2 * D)
    assert s["faults"][0]["detected"] is False
    assert "lead_s" not in s["faults"][0]
    assert s["false_alerts"] == 1  # the one at day 3; the one after failure is neither


def test_alerts_while_learning_are_counted_apart() -> None:
    s = score_timeline(_truth([("ball", 10, 25)]), [(1 * D, 1.5 * D)], learn_s=2 * D)
    assert (s["alerts_during_learning"], s["false_alerts"]) == (1, 0)


def test_a_healthy_asset_with_a_sensor_fault_counts_violations_and_false_alerts() -> None:
    truth = _truth([], sensor=[(5, 6), (20, None)], days=28)
    alerts = [(5.5 * D, 7 * D), (6.2 * D, 6.4 * D), (12 * D, 13 * D), (21 * D, None)]
    s = score_timeline(truth, alerts, learn_s=1 * D, clear_s=0.5 * D)
    assert s["faults"] == []
    assert s["false_alerts"] == 4
    assert s["healthy_s"] == 27 * D
    # day 5.5 (inside), 6.2 (within clear_s after day 6), 21 (open-ended fault); not day 12
    assert s["sensor_fault_violations"] == 3
    assert s["false_alerts_per_30d"] == round(4 / 27 * 30, 3)


def test_two_faults_on_one_asset_share_an_open_alert() -> None:
    truth = _truth([("misalignment", 6, 27), ("cage", 18, 30)], days=28)
    s = score_timeline(truth, [(8 * D, None)], learn_s=1.5 * D)
    mis, cage = s["faults"]
    assert (mis["lead_s"], mis["masked"]) == (19 * D, False)
    assert (cage["first_alert_s"], cage["lead_s"], cage["masked"]) == (18 * D, 12 * D, True)
    assert s["false_alerts"] == 0
    assert s["healthy_s"] == 4.5 * D


def test_alerts_outside_the_run_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the run"):
        score_timeline(_truth([]), [(31 * D, None)], learn_s=D)
    with pytest.raises(ValueError, match="ends before"):
        score_timeline(_truth([]), [(5 * D, 4 * D)], learn_s=D)


def test_aggregate_medians_and_rates_over_runs() -> None:
    def run(lead_days: float | None, false: int, healthy_days: float, diag: str) -> dict[str, Any]:
        fault = {"kind": "outer_race", "detected": lead_days is not None}
        if lead_days is not None:
            fault.update(lead_s=lead_days * D, masked=False)
        return {
            "score": {
                "faults": [fault],
                "false_alerts": false,
                "healthy_s": healthy_days * D,
                "false_alerts_per_30d": false / healthy_days * 30,
                "sensor_fault_violations": 0,
            },
            "diagnoses": [{"truth": "outer_race", "when": "at_80pct", "label": diag}],
            "sensor_fault_flagged": {},
        }

    o = aggregate([run(10, 0, 5, "outer_race"), run(4, 1, 5, "ball"), run(None, 0, 20, "normal")])
    assert (o["faults"], o["detected"], o["lead_days_median"], o["lead_days_min"]) == (3, 2, 7.0, 4.0)
    assert o["false_alerts_per_asset_30d"] == 1.0  # 1 in 30 healthy days
    assert o["runs_over_one_false_alert_per_30d"] == 1  # 1 in 5 days
    assert o["diagnosis"]["at_80pct"]["accuracy"] == {"outer_race": round(1 / 3, 3)}
    assert o["diagnosis"]["at_80pct"]["confusion"]["outer_race"] == {"ball": 1, "normal": 1, "outer_race": 1}


def test_alerts_need_the_minimum_duration_and_clear_with_hysteresis() -> None:
    a = _Alerts(Policy(on=0.9, off=0.5, raise_s=2.0, clear_s=2.0))
    raised = [
        a.step(t, s) for t, s in enumerate([0.95, 0.95, 0.2, 0.95, 0.95, 0.95, 0.6, 0.4, None, 0.4, 0.4])
    ]
    assert raised == [False, False, False, False, False, True, False, False, False, False, False]
    # raised at t=5 (held from t=3); 0.6 stays on (hysteresis); off from t=7, ended at t=9
    assert a.episodes == [[5, 9]]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bohsense", "bench", "condition", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


SMALL = """
name = "small-motor"
seed = 3
duration_days = 5.0
[sensor]
device_id = "m-1"
block_every_s = 3600.0
temperature_every_s = 900.0
[asset]
kind = "motor"
[[faults]]
kind = "imbalance"
onset_days = 2.5
failure_days = 4.5
growth = "linear"
[[sensor_faults]]
kind = "dropout"
channel = "all"
onset_days = 1.8
end_days = 2.0
"""


def test_the_command_on_a_small_scenario_prints_sane_json(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    proc = _cli("--scenario", str(path), "--every-s", "7200")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "small-motor seed 3" in proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    o = out["overall"]
    assert (o["runs"], o["faults"]) == (1, 1)
    assert 0 <= o["detected"] <= 1
    (run,) = out["runs"]
    assert run["ticks"] == 60
    assert run["features"] > 10
    (f,) = run["score"]["faults"]
    if f["detected"]:
        assert 0 <= f["lead_s"] <= 2 * D
        assert o["lead_days_median"] == round(f["lead_s"] / D, 2)
    assert o["false_alerts"] >= 0
    assert run["score"]["healthy_s"] == pytest.approx(1.0 * D)
    assert o["false_alerts_per_asset_30d"] >= 0
    assert run["sensor_fault_flagged"]["dropout"] == pytest.approx(1.0)  # nothing sent, nothing scored
    for when, diag in o["diagnosis"].items():
        assert when in ("at_first_alert", "at_80pct")
        for truth, acc in diag["accuracy"].items():
            assert truth == "imbalance"
            assert 0 <= acc <= 1
    labels = [d["label"] for d in run["diagnoses"]]
    assert labels
    assert all(lab in CLASSES for lab in labels)
    assert out["policy"]["every_s"] == 7200.0


@pytest.mark.long  # one process per bad argument (~18 s)
def test_the_command_refuses_bad_arguments_with_a_message(tmp_path: Path) -> None:
    proc = _cli("--scenario", str(tmp_path / "nowhere.toml"))
    assert proc.returncode == 2
    assert "bench condition:" in proc.stderr
    assert "nowhere.toml" in proc.stderr
    proc = _cli("--days", "0")
    assert proc.returncode == 2
    assert "--days" in proc.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL + "\nvelocity = 3\n")
    proc = _cli("--scenario", str(bad))
    assert proc.returncode == 2
    assert "velocity" in proc.stderr


@pytest.mark.long
def test_the_packaged_set_runs_and_every_fault_is_scored() -> None:
    """The documented run (docs/models.md): every packaged scenario once, each fault scored."""
    proc = _cli()
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    o = out["overall"]
    assert o["runs"] == len(out["scenarios"]) == 9
    assert o["faults"] == sum(len(r["score"]["faults"]) for r in out["runs"])
    assert 0 <= o["detected"] <= o["faults"]
    assert o["false_alerts_per_asset_30d"] >= 0
    for run in out["runs"]:
        for start, end in run["alerts"]:
            assert end is None or end >= start
        for d in run["diagnoses"]:
            assert d["label"] is None or d["label"] in CLASSES
