"""The static checks of scripts/check run in CI too: the import boundaries (edge and
cloud never import each other; layers run one way), lint, and strict typing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PACKAGES = ["contracts", "firmware_bridge", "models", "edge", "cloud", "simulators", "demo", "bench"]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_import_boundaries_hold() -> None:
    out = run(str(BIN / "lint-imports"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


@pytest.mark.parametrize("argv", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff(argv: list[str]) -> None:
    out = run(str(BIN / "ruff"), *argv)
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict() -> None:
    args = [a for p in PACKAGES for a in ("-p", f"bohsense.{p}")]
    out = run(str(BIN / "mypy"), *args)
    assert out.returncode == 0, out.stdout + out.stderr
