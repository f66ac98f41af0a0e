"""Diagnosis of synthesized machines with known defect frequencies, at two sampling
rates and bearing geometries, through the API and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bohsense.models.errors import InputError
from bohsense.models.synthetic import bearing_signal
from bohsense.models.vibration import CLASSES, defect_frequencies, diagnose, parse_bearing

from .support import bohsense

MACHINES = {
    "12k-6205": (12000.0, 1797.0, (9, 0.3126, 1.537, 0.0)),
    "25.6k-angular": (25600.0, 1180.0, (13, 7.9, 38.5, 15.0)),
}
FAULTS = [c for c in CLASSES]


def test_defect_frequencies_match_the_published_6205_multiples() -> None:
    f = defect_frequencies(60.0, 9, 0.3126, 1.537)
    assert f["bpfo"] == pytest.approx(3.5848, abs=2e-3)
    assert f["bpfi"] == pytest.approx(5.4152, abs=2e-3)
    assert 2 * f["bsf"] == pytest.approx(4.7135, abs=2e-3)
    assert f["ftf"] == pytest.approx(0.39828, abs=2e-4)


@pytest.mark.parametrize("machine", list(MACHINES))
@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_is_named_with_its_evidence(machine: str, fault: str) -> None:
    fs, rpm, geometry = MACHINES[machine]
    x = bearing_signal(fault, fs=fs, rpm=rpm, geometry=geometry, seconds=1.0, seed=11)
    d = diagnose(x * 3.7, fs=fs, rpm=rpm, geometry=geometry)  # any scale
    assert d.label == fault, (d.scores, d.evidence["bearing"])
    assert set(d.scores) == set(CLASSES)
    assert all(0.0 <= v <= 1.0 for v in d.scores.values())
    assert sum(d.scores.values()) == pytest.approx(1.0, abs=1e-3)
    f = defect_frequencies(rpm, *geometry)
    if fault in ("inner_race", "outer_race"):
        ev = d.evidence["bearing"][fault]
        expected = f["bpfi" if fault == "inner_race" else "bpfo"]
        assert ev["peaks"][0]["peak_hz"] == pytest.approx(expected, rel=0.03)
        assert ev["db"] > 12.0


def test_command_line_prints_one_json_object() -> None:
    fs, rpm, geometry = MACHINES["25.6k-angular"]
    x = bearing_signal("outer_race", fs=fs, rpm=rpm, geometry=geometry, seconds=1.0, seed=2)
    wave = "\n".join(f"{v:.6f}" for v in x) + "\n"
    out = bohsense("diagnose", "--fs", "25600", "--rpm", "1180", "--bearing", "13,7.9,38.5,15", stdin=wave)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["label"] == "outer_race"
    assert set(result) == {"label", "scores", "evidence"}
    assert result["evidence"]["bearing"]["outer_race"]["frequency"] == "bpfo"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--bearing", "9,0.3126"], "1\n", "--bearing wants"),
        (["--bearing", "9,2,1"], "1\n", "ball diameter < pitch diameter"),
        (["--bearing", "9,0.3126,1.537"], "0.1\n0.2\nabc\n", "line 3: expected one number"),
        (["--bearing", "9,0.3126,1.537"], "0.1\nnan\n", "line 2: sample 'nan' is not finite"),
        (["--bearing", "9,0.3126,1.537"], "0.1\n" * 100, "100 samples: need at least"),
        (["--bearing", "9,0.3126,1.537", "--fs", "4000"], "0.1\n", "need at least 5000 Hz"),
    ],
)
def test_bad_input_is_refused_with_its_reason(args: list[str], stdin: str, message: str) -> None:
    argv = ["diagnose", "--fs", "12000", "--rpm", "1797", *args]
    out = bohsense(*argv, stdin=stdin)
    assert out.returncode == 2
    assert message in out.stderr
    assert out.stdout == ""


def test_constant_waveform_is_a_sensor_fault() -> None:
    with pytest.raises(InputError, match="constant"):
        diagnose(np.ones(20000), fs=12000, rpm=1797, geometry=parse_bearing("9,0.3126,1.537"))
