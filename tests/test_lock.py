"""Installs reproduce: uv.lock matches the pyproject files, the environment the tests run in
is exactly the lock, and the distributions move in lockstep."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.workspace import ROOT, lock_versions, members, uv, uv_env

# The dependencies whose drift has broken or would break the system first.
MAIN = [
    "msgspec", "paho-mqtt", "aiomqtt", "pyserial", "numpy", "fastapi", "starlette", "pydantic",
    "pydantic-settings", "sqlalchemy", "alembic", "uvicorn", "httpx", "influxdb-client", "amqtt",
    "psycopg", "pytest", "mypy", "ruff", "import-linter", "hypothesis", "schemathesis", "sllurp", "uv",
]  # fmt: skip


def _lock_check(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(uv()), "lock", "--check"],
        cwd=cwd, capture_output=True, text=True, timeout=300, env=uv_env(), check=False,
    )  # fmt: skip


def test_the_lock_matches_every_pyproject() -> None:
    out = _lock_check(ROOT)
    assert out.returncode == 0, (
        f"uv.lock is out of date with the pyproject files: run scripts/lock\n{out.stderr}"
    )


def _copy_workspace(dest: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", dest)
    shutil.copy(ROOT / "uv.lock", dest)
    for m in members():
        (dest / m.folder).mkdir()
        shutil.copy(ROOT / m.folder / "pyproject.toml", dest / m.folder)


def test_a_bound_changed_without_relocking_fails_the_check(tmp_path: Path) -> None:
    _copy_workspace(tmp_path)
    cloud = tmp_path / "cloud" / "pyproject.toml"
    text = cloud.read_text()
    changed = re.sub(r'"fastapi>=[^"]*"', '"fastapi>=0.110,<0.111"', text)
    assert changed != text
    cloud.write_text(changed)
    out = _lock_check(tmp_path)
    assert out.returncode != 0
    assert "needs to be updated" in out.stderr, out.stderr


def test_the_environment_is_exactly_the_lock() -> None:
    locked = lock_versions()
    for name in MAIN:
        assert name in locked, f"{name} is not in uv.lock"
        installed = importlib.metadata.version(name)
        assert installed == locked[name], f"{name} {installed} is installed, the lock pins {locked[name]}"
    out = subprocess.run(
        [str(uv()), "sync", "--check", "--frozen", "--all-packages", "--all-extras", "--offline"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env=uv_env(UV_PROJECT_ENVIRONMENT=str(ROOT / ".venv")),
    )  # fmt: skip
    assert out.returncode == 0, f".venv differs from uv.lock: run scripts/setup --dev\n{out.stderr}"


def test_the_bootstrap_pin_of_uv_is_the_locked_one() -> None:
    pinned = (ROOT / "scripts" / "uv-requirements.txt").read_text()
    assert f"uv=={lock_versions()['uv']} " in pinned, "scripts/uv-requirements.txt is stale: run scripts/lock"
    assert "--hash=sha256:" in pinned


def test_distributions_move_in_lockstep() -> None:
    versions = {m.dist: m.version for m in members()}
    assert len(set(versions.values())) == 1, f"every bohsense distribution has one version: {versions}"
    (version,) = set(versions.values())
    for m in members():
        for dep in m.dependencies:
            name = re.split(r"[\s<>=!~\[;]", dep, maxsplit=1)[0]
            if name.startswith("bohsense-"):
                assert dep == f"{name}=={version}", f"{m.dist} must pin {name}=={version}, not {dep!r}"


@pytest.mark.parametrize("m", members(), ids=lambda m: m.folder)
def test_every_member_is_a_bohsense_distribution_of_its_folder(m: object) -> None:
    from tests.support.workspace import Member

    assert isinstance(m, Member)
    assert m.dist == "bohsense-" + m.folder.replace("_", "-")
    assert (ROOT / m.folder / "bohsense" / m.folder).is_dir()
    assert not (ROOT / m.folder / "bohsense" / "__init__.py").exists() or m.folder == "contracts"
