"""Condition scenarios: the packaged files load, bad ones are refused naming the key, the
ground truth says what was injected, the export is what an evaluator reads, and the
command line runs a scenario on a pty."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bohsense.simulators import (
    MACHINE_FAULTS,
    REFRIGERATION_FAULTS,
    SENSOR_FAULT_KINDS,
    ConditionScenario,
    ConditionScenarioError,
    packaged_scenarios,
)

BIN = Path(sys.executable).parent


def test_the_packaged_scenarios_cover_every_fault_and_sensor_fault() -> None:
    names = packaged_scenarios()
    assert len(names) >= 8
    faults: set[str] = set()
    sensor_faults: set[str] = set()
    assets: set[str] = set()
    for name in names:
        scenario = ConditionScenario.load(name)
        truth = scenario.ground_truth()
        assets.add(truth["asset"])
        faults |= {f["kind"] for f in truth["faults"]}
        sensor_faults |= {f["kind"] for f in truth["sensor_faults"]}
        for fault in truth["faults"]:
            assert fault["failure_s"] > fault["onset_s"] >= 0
            assert fault["failure_s"] <= scenario.duration_s + 3 * 86_400
    assert faults == set(MACHINE_FAULTS) | set(REFRIGERATION_FAULTS)
    assert sensor_faults == set(SENSOR_FAULT_KINDS)
    assert {"motor", "fan", "compressor", "conveyor", "case", "freezer"} <= assets


def test_ground_truth_names_the_fault_its_onset_growth_failure_and_frequency() -> None:
    scenario = ConditionScenario.load("condition-motor-outer-race")
    truth = scenario.ground_truth()
    (fault,) = truth["faults"]
    assert fault == {
        "kind": "outer_race",
        "component": "machine",
        "onset_s": 5 * 86_400.0,
        "failure_s": 25 * 86_400.0,
        "onset_days": 5.0,
        "failure_days": 25.0,
        "growth": "exponential",
        "defect_hz": pytest.approx(3.5848 * 1770 / 60, abs=0.01),
    }
    assert truth["machine"]["shaft_hz"] == 29.5
    assert truth["seed"] == 101
    assert scenario.label(4 * 86_400) == "normal"
    assert scenario.label(6 * 86_400) == "outer_race"
    assert scenario.severity(25 * 86_400)["outer_race"] == 1.0
    json.dumps(truth)  # the evaluator reads it as JSON


def test_same_seed_same_blocks_and_the_seed_can_be_overridden() -> None:
    a = [b.counts for b in ConditionScenario.load("condition-fan-imbalance").blocks(until_s=4 * 3600)]
    b = [b.counts for b in ConditionScenario.load("condition-fan-imbalance").blocks(until_s=4 * 3600)]
    c = [b.counts for b in ConditionScenario.load("condition-fan-imbalance", seed=5).blocks(until_s=4 * 3600)]
    assert len(a) == 12  # 4 sets of 3 axes
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))  # type: ignore[arg-type]


def test_a_freezer_compressor_vibrates_only_while_it_runs() -> None:
    scenario = ConditionScenario.load("condition-freezer-leak")
    blocks = list(scenario.blocks(until_s=2 * 86_400))
    running = [b for b in blocks if b.running]
    still = [b for b in blocks if not b.running]
    assert running
    assert still
    rms = lambda bs: float(np.mean([np.std(b.g) for b in bs]))  # noqa: E731
    assert rms(running) > 10 * rms(still)
    assert scenario.temperatures(86_400)[0] == pytest.approx(-20.0, abs=3.0)
    assert len(scenario.temperatures(86_400)) == 3


def test_sensor_faults_show_in_the_blocks_and_temperatures_of_a_healthy_motor() -> None:
    scenario = ConditionScenario.load("condition-motor-sensor-faults")
    assert scenario.severity(10 * 86_400) == {}
    dropout = list(scenario.blocks(until_s=11.25 * 86_400))[-3:]
    assert all(b.counts is None for b in dropout)
    assert all("dropout" in b.sensor_faults for b in dropout)
    assert scenario.temperatures(11.2 * 86_400) == (None,)
    healthy_t = scenario.true_temperatures(20 * 86_400)[0]
    assert scenario.temperatures(20 * 86_400)[0] == pytest.approx(healthy_t + 1.5 * 6, abs=0.3)


def test_export_writes_what_an_evaluator_reads(tmp_path: Path) -> None:
    scenario = ConditionScenario.load("condition-motor-outer-race")
    scenario.duration_s = 8 * 3600.0  # a short run
    written = scenario.export(tmp_path)
    assert written == {"blocks": 24, "sent": 24}
    data = np.load(tmp_path / "blocks.npz")
    assert data["counts"].shape == (24, 8192)
    assert data["counts"].dtype == np.int16
    assert list(data["axis"][:3]) == ["x", "y", "z"]
    assert float(data["fs_hz"]) == 25600.0
    rows = list(csv.DictReader((tmp_path / "labels.csv").open()))
    assert len(rows) == 24
    assert rows[0]["label"] == "normal"
    assert json.loads((tmp_path / "truth.json").read_text())["faults"][0]["kind"] == "outer_race"


BAD: list[tuple[dict[str, Any], str]] = [
    ({"colour": "red"}, "unknown key"),
    ({"asset": {"kind": "toaster"}}, "asset.kind"),
    ({"asset": {"kind": "motor", "setpoint_c": 3}}, "setpoint_c is only"),
    ({"asset": {"kind": "motor", "bearing": {"n_balls": 9, "ball_diameter_mm": 50, "pitch_diameter_mm": 40}}},
     "asset.bearing"),
    ({"sensor": {"axes": ["x", "w"]}}, "sensor.axes"),
    ({"sensor": {"fs_hz": 100.0}}, "sensor.fs_hz"),
    ({"sensor": {"block_samples": 100_000}}, "sensor.block_samples"),
    ({"sensor": {"range_g": -1}}, "sensor.range_g"),
    ({"faults": [{"kind": "refrigerant_leak", "onset_days": 1, "failure_days": 2}]}, "faults[0].kind"),
    ({"faults": [{"kind": "ball", "onset_days": 3, "failure_days": 2}]}, "failure_days must come after"),
    ({"faults": [{"kind": "ball", "onset_days": 1, "failure_days": 2, "growth": "sudden"}]}, "faults[0].growth"),
    ({"faults": [{"kind": "ball", "onset_days": 1}]}, "faults[0].failure_days is required"),
    ({"faults": [{"kind": "ball", "onset_days": 1, "failure_days": 2, "when": 1}]}, "faults[0]: unknown key"),
    ({"sensor_faults": [{"kind": "melting", "onset_days": 1}]}, "sensor_faults[0].kind"),
    ({"sensor_faults": [{"kind": "stuck", "onset_days": 1, "channel": "pressure"}]}, "sensor_faults[0]"),
    ({"seed": "seven"}, "seed must be an integer"),
    ({"time_scale": 0}, "time_scale must be positive"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_scenarios_are_refused_naming_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConditionScenarioError) as info:
        ConditionScenario.from_dict(data)
    assert message in str(info.value)


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "bohsense"), "sim", "sensor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_cli_lists_and_exports_scenarios_and_refuses_a_bad_one(tmp_path: Path) -> None:
    listed = run("--list-scenarios")
    assert listed.returncode == 0
    assert listed.stdout.split() == packaged_scenarios()
    bad = tmp_path / "bad.toml"
    bad.write_text('[asset]\nkind = "toaster"\n')
    refused = run("--scenario", str(bad))
    assert refused.returncode == 2
    assert "asset.kind" in refused.stderr
    short = tmp_path / "short.toml"
    short.write_text(
        'seed = 3\nduration_days = 0.25\n[sensor]\nblock_samples = 1024\n[asset]\nkind = "fan"\n'
        '[[faults]]\nkind = "imbalance"\nonset_days = 0.1\nfailure_days = 1.0\n'
    )
    exported = run("--scenario", str(short), "--export", str(tmp_path / "out"))
    assert exported.returncode == 0, exported.stderr
    assert "18 blocks" in exported.stdout
    assert (tmp_path / "out" / "truth.json").exists()


def test_cli_plays_a_scenario_on_a_pty_and_writes_the_ground_truth(tmp_path: Path) -> None:
    import serial

    from bohsense.firmware_bridge import Frame, FrameDecoder, WaveformFragment

    truth = tmp_path / "truth.json"
    proc = subprocess.Popen(
        [str(BIN / "bohsense"), "sim", "sensor", "--scenario", "condition-compressor-inner-race",
         "--time-scale", "7200", "--start-day", "20", "--ground-truth", str(truth)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.startswith("/dev/")
        decoder = FrameDecoder(mid_stream=True)
        fragments = []
        with serial.Serial(port, timeout=0.2) as tty:
            for _ in range(100):
                for result in decoder.feed(tty.read(65536)):
                    if isinstance(result, Frame) and isinstance(result.message, WaveformFragment):
                        fragments.append(result.message)
                if len({f.block_seq for f in fragments if f.axis.label == "z"}) >= 2:
                    break
        assert fragments, "waveform fragments on the pty"
        assert {f.sample_rate_hz for f in fragments} == {25600.0}
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0
    data = json.loads(truth.read_text())
    assert data["faults"][0]["kind"] == "inner_race"
    assert data["time_scale"] == 7200.0
    assert data["start_s"] == 20 * 86_400.0
    assert data["sim_time_s"] > 20 * 86_400.0
    assert data["blocks_sent"] >= 3
    assert data["severity_now"]["inner_race"] > 0.3
    assert any(e["kind"] == "waveform" for e in data["events"])


def test_the_condition_examples_in_the_docs_run() -> None:
    import re
    import tomllib

    doc = (Path(__file__).resolve().parents[2] / "docs" / "simulators.md").read_text()
    (code,) = re.findall(r"```python condition\n(.*?)```", doc, flags=re.S)
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/simulators.md", "exec"), namespace)
    assert namespace["g"].shape == (8192,)
    assert namespace["bpfo"] == pytest.approx(106.0, abs=0.5)
    assert len(namespace["blocks"]) == 18
    assert namespace["label"] == "outer_race"
    (text,) = re.findall(r"```toml condition\n(.*?)```", doc, flags=re.S)
    scenario = ConditionScenario.from_dict(tomllib.loads(text))
    assert [f.kind for f in scenario.faults] == ["outer_race"]
    assert [f.kind for f in scenario.sensor_faults] == ["spikes"]
    assert scenario.ground_truth() == {
        **ConditionScenario.load("condition-motor-outer-race").ground_truth(),
        "sensor_faults": scenario.ground_truth()["sensor_faults"],
        "scenario": "motor-outer-race",
    }
