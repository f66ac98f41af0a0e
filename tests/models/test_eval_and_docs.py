"""The evaluation commands run (on generated data here; the real data sets are the
docs' business), refuse a missing data set clearly, and every ``bohsense models``
command in docs/models.md parses."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from bohsense.cli import build_parser

from .support import bohsense

DOC = Path(__file__).resolve().parents[2] / "docs" / "models.md"


def test_series_evaluation_reports_recall_false_alarms_and_the_baseline() -> None:
    out = bohsense("eval", "series", "--count", "2", "--seed", "77")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["series"] == 2
    assert set(result["recall"]) == {"spike", "level", "variance", "stuck"}
    assert result["false_alarm_points_per_1000"] >= 0
    assert "baseline_zscore_96_4sigma" in result


@pytest.mark.parametrize(
    ("target", "data", "message"),
    [
        ("cwru", "/nonexistent/cwru", "--data /nonexistent/cwru: not a folder"),
        ("cmapss", "/nonexistent/train_FD001.txt", "/nonexistent/train_FD001.txt: cannot read"),
        ("cwru", None, "--data is required"),
    ],
)
def test_evaluations_refuse_missing_data(target: str, data: str | None, message: str) -> None:
    out = bohsense("eval", target, *(["--data", data] if data else []))
    assert out.returncode == 2
    assert message in out.stderr


def _doc_commands() -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.S)
    out = []
    for block in blocks:
        for line in block.splitlines():
            words = shlex.split(line.split(" #", 1)[0].split("<", 1)[0])
            if words and words[0].endswith("bohsense"):
                out.append(words[1:])
    return out


def test_the_docs_show_commands() -> None:
    assert len(_doc_commands()) >= 6


@pytest.mark.parametrize("argv", _doc_commands(), ids=" ".join)
def test_every_documented_command_parses(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert callable(args.handler)
