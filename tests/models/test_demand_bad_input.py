"""A bad demand file, for every command that reads one: the line named on stderr, exit
code 2, nothing on stdout and no output file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.models.demand import rows, write


def _set(lines: list[str], index: int, field: int, value: str) -> list[str]:
    parts = lines[index].split(",")
    parts[field] = value
    return [*lines[:index], ",".join(parts), *lines[index + 1 :]]


def _unknown(lines: list[str]) -> list[str]:
    return [*lines[:5], lines[5].replace("FOODS_1_001", "FOODS_9_999"), *lines[5:]]


# the generated file: header, then FOODS_1_001 at CA_1 from 2020-01-06 (a Monday) on line 2
CASES: dict[str, tuple[Callable[[list[str]], list[str]], str]] = {
    "gap": (lambda ls: [*ls[:3], *ls[4:]], "line 4: FOODS_1_001 at CA_1 has no row for 2020-01-08 (gap"),
    "negative (a return)": (
        lambda ls: _set(ls, 6, 4, "-2"),
        "line 7: value '-2' is negative (returns are not demand",
    ),
    "unknown item": (_unknown, "line 6: unknown item FOODS_9_999 at store CA_1 (not among the known items)"),
    "duplicated day": (
        lambda ls: [*ls[:8], ls[7], *ls[8:]],
        "line 9: FOODS_1_001 at CA_1 on 2020-01-12 appears twice",
    ),
    "non-numeric value": (lambda ls: _set(ls, 4, 4, "twelve"), "line 5: value 'twelve' is not a number"),
    "non-numeric price": (lambda ls: _set(ls, 3, 7, "cheap"), "line 4: sell_price 'cheap' is not a number"),
    "date not a day": (
        lambda ls: _set(ls, 2, 3, "2020-01-32"),
        "line 3: date '2020-01-32' is not a YYYY-MM-DD day",
    ),
    "bad snap": (lambda ls: _set(ls, 9, 6, "y"), "line 10: snap 'y' is not 0 or 1"),
}

COMMANDS = {
    "forecast": (("forecast", "--horizon", "3", "--catalog", "{catalog}", "--history", "{demand}"), "forecast"),
    "simulate": (
        (
            "replenish", "simulate", "--lead-time-days", "2", "--review-days", "1", "--service-level", "0.95",
            "--warmup-days", "40", "--catalog", "{catalog}", "--demand", "{demand}",
        ),
        "replenish",
    ),
    "plan": (
        ("replenish", "plan", "--workers", "1", "--stock", "{catalog}", "--output", "{out}", "--history", "{demand}"),
        "replenish plan",
    ),
}  # fmt: skip


def _run(tmp_path: Path, command: str, lines: list[str]) -> tuple[subprocess.CompletedProcess[str], Path]:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        "item_id,store_id\nFOODS_1_001,CA_1\nFOODS_1_001,TX_1\nHOBBIES_1_002,CA_1\nHOBBIES_1_002,TX_1\n"
    )
    demand = write(tmp_path / "demand.csv", lines)
    out_file = tmp_path / "plan.csv"
    argv, _ = COMMANDS[command]
    args = [a.format(catalog=catalog, demand=demand, out=out_file) for a in argv]
    proc = subprocess.run(
        [sys.executable, "-m", "bohsense", *args], capture_output=True, text=True, timeout=120, check=False
    )
    return proc, out_file


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_demand_is_refused_naming_the_line(tmp_path: Path, command: str, case: str) -> None:
    change, words = CASES[case]
    proc, out_file = _run(tmp_path, command, change(rows(days=90)))
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert words in proc.stderr
    assert proc.stderr.startswith(f"bohsense {COMMANDS[command][1]}: ")
    assert not out_file.exists()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_same_file_unchanged_passes(tmp_path: Path, command: str) -> None:
    proc, out_file = _run(tmp_path, command, rows(days=90))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout or out_file.exists()
