"""The README's commands are the ones that exist: docs that cannot rot."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bohsense.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _sh_blocks(text: str) -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [[line.split("#", 1)[0].strip() for line in b.splitlines() if line.strip()] for b in blocks]


def test_first_screen_has_exactly_the_two_commands_and_ci_runs_the_second() -> None:
    first = _sh_blocks(README)[0]
    assert first == ["scripts/setup && .venv/bin/bohsense demo --duration 60", "scripts/test"]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == first[1], ".ci/run must end by running exactly the README's test command"
    for script in ("scripts/setup", "scripts/test", ".ci/run"):
        assert (ROOT / script).stat().st_mode & 0o111, f"{script} is executable"


def _bohsense_commands() -> list[list[str]]:
    out = []
    for block in _sh_blocks(README):
        for line in block:
            for part in line.split("&&"):
                words = shlex.split(part)
                if words and words[0].endswith("bohsense"):
                    out.append(words[1:])
    return out


@pytest.mark.parametrize("argv", _bohsense_commands(), ids=" ".join)
def test_every_documented_command_parses(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert callable(args.handler)
