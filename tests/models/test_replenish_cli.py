"""``bohsense replenish simulate`` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.models.demand import rows, write


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bohsense", "replenish", "simulate", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


ARGS = ("--lead-time-days", "2", "--review-days", "1", "--service-level", "0.95", "--warmup-days", "100")


def test_simulate_ends_with_a_json_line_of_both_policies(tmp_path: Path) -> None:
    demand = write(tmp_path / "d.csv.gz", rows(days=260), gz=True)
    out = _run("--demand", str(demand), *ARGS, "--pack-size", "4", "--min-order", "8")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["series"] == 4
    assert report["pack_size"] == 4
    assert report["min_order"] == 8
    assert report["units_ordered"] % 4 == 0
    for key in ("fill_rate", "avg_on_hand_units", "stockout_day_share", "orders", "per_class"):
        assert key in report
        assert key in report["baseline"]
    assert 0.5 < report["fill_rate"] <= 1
    assert report["orders"] > 0
    assert "series" in out.stderr  # progress


def test_bad_demand_file_exits_2_naming_the_line(tmp_path: Path) -> None:
    lines = rows(days=120)
    parts = lines[7].split(",")
    parts[4] = "-3"
    lines[7] = ",".join(parts)
    out = _run("--demand", str(write(tmp_path / "d.csv", lines)), *ARGS)
    assert out.returncode == 2
    assert out.stdout == ""
    assert "line 8: value '-3' is negative" in out.stderr


def test_bad_parameters_exit_2(tmp_path: Path) -> None:
    demand = str(write(tmp_path / "d.csv", rows(days=120)))
    bad = _run("--demand", demand, *ARGS[:-1], "5")
    assert bad.returncode == 2
    assert "warm-up 5 days" in bad.stderr
    level = _run("--demand", demand, *ARGS[:5], "1.5", *ARGS[6:])
    assert level.returncode == 2
    assert "service level 1.5" in level.stderr
    targets = _run("--demand", demand, *ARGS, "--class-targets", "A:0.9")
    assert targets.returncode == 2
    assert "CLASS=LEVEL" in targets.stderr
    pack = _run("--demand", demand, *ARGS, "--pack-size", "0")
    assert pack.returncode == 2
    assert "pack size 0" in pack.stderr
