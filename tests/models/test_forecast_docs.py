"""The commands in docs/forecasting.md and docs/replenishment-plan.md are ones the CLI
accepts: docs that cannot rot."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bohsense.cli import build_parser

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOC = DOCS / "forecasting.md"


def _argv(line: str) -> list[str]:
    words = shlex.split(line, comments=True)[1:]
    return words[: words.index(">")] if ">" in words else words


def _commands(doc: Path = DOC) -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", doc.read_text(), flags=re.S)
    return [_argv(line) for b in blocks for line in b.splitlines() if line.startswith("bohsense ")]


def test_the_plan_doc_shows_every_way_to_run_the_plan() -> None:
    plans = [c for c in _commands(DOCS / "replenishment-plan.md") if c[:2] == ["replenish", "plan"]]
    flags = {w for c in plans for w in c if w.startswith("--")}
    assert {"--history", "--stock", "--workers", "--dask", "--dask-local", "--output"} <= flags


@pytest.mark.parametrize(
    "argv",
    [
        c
        for c in _commands(DOCS / "replenishment-plan.md") + _commands(DOCS / "benchmarks.md")
        if c[0] != "bench" or c[1] == "replenish"
    ],
    ids=" ".join,
)
def test_every_documented_plan_and_replenish_bench_command_parses(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert callable(args.handler)
    assert args.handler.__module__.startswith(("bohsense.models.replenish", "bohsense.bench"))


def test_the_doc_shows_the_forecast_eval_and_simulate_commands() -> None:
    heads = {tuple(c[:2]) for c in _commands()}
    assert {("forecast", "--history"), ("forecast", "eval"), ("replenish", "simulate")} <= heads


@pytest.mark.parametrize("argv", _commands(), ids=" ".join)
def test_every_documented_command_parses(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert callable(args.handler)
    assert args.handler.__module__.startswith("bohsense.models.")
