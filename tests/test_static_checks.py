"""The static checks of scripts/check run in CI too: the import boundaries (edge and
cloud never import each other; layers run one way), lint, and strict typing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.workspace import members

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, env=env)


def test_import_boundaries_hold() -> None:
    out = run(str(BIN / "lint-imports"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


@pytest.mark.parametrize("argv", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff(argv: list[str]) -> None:
    out = run(str(BIN / "ruff"), *argv)
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict() -> None:
    args = [a for m in members() for a in ("-p", m.package)]
    out = run(str(BIN / "mypy"), *args, env={**os.environ, "MYPYPATH": ":".join(m.folder for m in members())})
    assert out.returncode == 0, out.stdout + out.stderr


def _importlinter() -> dict[str, object]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]  # type: ignore[no-any-return]


def test_every_member_sits_in_exactly_one_import_layer() -> None:
    contracts = _importlinter()["contracts"]
    assert isinstance(contracts, list)
    (layered,) = [c for c in contracts if c["type"] == "layers"]
    placed = [name.strip() for layer in layered["layers"] for name in layer.split("|")]
    packages = [m.package for m in members()]
    assert sorted(placed) == sorted(packages), "the import layers must name every workspace member once"


def test_the_architecture_table_names_every_member() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    for m in members():
        assert f"| `{m.folder}/` | `{m.dist}` |" in doc, f"docs/architecture.md has no row for {m.folder}/"
