"""The workspace as the root pyproject.toml declares it: the one list of distributions.

Everything that needs the list of bohsense distributions (type checks, packaging tests,
the import-layer and docs checks) reads it from here, so a new member is one line in
``[tool.uv.workspace] members``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ROOT", "Member", "lock_versions", "member", "members", "uv", "uv_env"]


@dataclass(frozen=True, slots=True)
class Member:
    folder: str  # "firmware_bridge"
    dist: str  # "bohsense-firmware-bridge"
    version: str
    package: str  # "bohsense.firmware_bridge"
    dependencies: tuple[str, ...]


@cache
def members() -> tuple[Member, ...]:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    out = []
    for folder in root["tool"]["uv"]["workspace"]["members"]:
        project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]
        out.append(
            Member(
                folder=folder,
                dist=project["name"],
                version=project["version"],
                package=f"bohsense.{folder}",
                dependencies=tuple(project.get("dependencies", ())),
            )
        )
    return tuple(out)


def member(folder: str) -> Member:
    return next(m for m in members() if m.folder == folder)


@cache
def lock_versions() -> dict[str, str]:
    """Package name → the version uv.lock pins for the running Python.

    The lock is universal: where versions differ between Pythons (numpy), each entry
    carries ``resolution-markers``, evaluated here for this interpreter.
    """
    from packaging.markers import Marker

    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    versions: dict[str, str] = {}
    for pkg in lock["package"]:
        markers = pkg.get("resolution-markers")
        if markers and not any(Marker(m).evaluate() for m in markers):
            continue
        versions[pkg["name"]] = pkg["version"]
    return versions


def uv() -> Path:
    """The uv that scripts/setup installed (the version the lock pins)."""
    path = ROOT / ".tools" / "bin" / "uv"
    if not path.exists():
        import pytest

        pytest.fail("uv is not installed in .tools: run scripts/setup --dev")
    return path


def uv_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.update(extra)
    return env
