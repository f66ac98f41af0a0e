"""The commands in docs/forecasting.md are ones the CLI accepts: docs that cannot rot."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bohsense.cli import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "forecasting.md"


def _commands() -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.S)
    return [shlex.split(line)[1:] for b in blocks for line in b.splitlines() if line.startswith("bohsense ")]


def test_the_doc_shows_the_forecast_eval_and_simulate_commands() -> None:
    heads = {tuple(c[:2]) for c in _commands()}
    assert {("forecast", "--history"), ("forecast", "eval"), ("replenish", "simulate")} <= heads


@pytest.mark.parametrize("argv", _commands(), ids=" ".join)
def test_every_documented_command_parses(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert callable(args.handler)
    assert args.handler.__module__.startswith("bohsense.models.")
