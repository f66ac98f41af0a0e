"""Each deployable installs on its own, at the locked versions: the gateway without the
cloud's dependencies (from the lock, and from wheels alone for bohsense itself), the
cloud without the gateway's serial and RFID ones."""

from __future__ import annotations

import json
import subprocess
import venv
import zipfile
from pathlib import Path

import pytest

from tests.support.workspace import ROOT, lock_versions, uv, uv_env

CLOUD_ONLY = {
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "influxdb-client",
    "scikit-learn",
    "aiomqtt",
}
EDGE_ONLY = {"pyserial", "sllurp"}
GATEWAY = ("bohsense-edge", "bohsense-contracts", "bohsense-firmware-bridge")


def _export(package: str, *extra: str) -> str:
    """The locked requirements (with hashes) of one distribution, without bohsense itself."""
    out = subprocess.run(
        [str(uv()), "export", "--frozen", "--package", package, "--no-dev", "--no-emit-workspace",
         "--no-header", "--quiet", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=uv_env(), check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout


def _names(requirements: str) -> set[str]:
    return {
        line.split("==")[0].strip().lower()
        for line in requirements.splitlines()
        if line and not line.startswith((" ", "#", "-"))
    }


def test_cloud_resolves_without_the_gateways_dependencies() -> None:
    names = _names(_export("bohsense-cloud", "--all-extras"))
    assert {"fastapi", "sqlalchemy", "psycopg"} <= names
    assert not names & EDGE_ONLY, names & EDGE_ONLY


def test_the_gateways_locked_dependencies_hold_nothing_of_the_cloud() -> None:
    names = _names(_export("bohsense-edge"))
    assert {"paho-mqtt", "pyserial", "msgspec"} <= names
    assert not names & CLOUD_ONLY, names & CLOUD_ONLY


@pytest.mark.long  # builds every wheel and a fresh venv (~50 s); the import boundaries and the deb test run by default
def test_gateway_installs_from_wheels_at_the_locked_versions_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run(
        [str(ROOT / "scripts" / "build"), str(dist)], capture_output=True, text=True, timeout=600, check=False
    )
    assert built.returncode == 0, built.stderr
    wheels = {p.name.split("-")[0] for p in dist.glob("*.whl")}
    assert {g.replace("-", "_") for g in GATEWAY} <= wheels, wheels
    # the cloud's wheel carries the dashboard: every file of its static folder
    (cloud_wheel,) = dist.glob("bohsense_cloud-*.whl")
    static = ROOT / "cloud" / "bohsense" / "cloud" / "dashboard" / "static"
    shipped = {
        f"bohsense/cloud/dashboard/static/{p.relative_to(static).as_posix()}"
        for p in static.rglob("*")
        if p.is_file()
    }
    with zipfile.ZipFile(cloud_wheel) as whl:
        assert sorted(shipped - set(whl.namelist())) == []

    env = tmp_path / "gw"
    venv.create(env, with_pip=True)
    py = str(env / "bin" / "python")
    pip = [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    reqs = tmp_path / "gateway-requirements.txt"
    reqs.write_text(_export("bohsense-edge"))
    # third-party dependencies from the lock, hash-checked; bohsense itself only from the wheels
    third = subprocess.run(
        [*pip, "--require-hashes", "-r", str(reqs)], capture_output=True, text=True, timeout=600
    )
    assert third.returncode == 0, third.stderr
    own = subprocess.run(
        [*pip, "--no-index", "--find-links", str(dist), "bohsense-edge"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert own.returncode == 0, own.stderr

    listed = subprocess.run(
        [py, "-m", "pip", "list", "--format=json"], check=True, capture_output=True, text=True
    )
    installed = {d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(listed.stdout)}
    assert not set(installed) & CLOUD_ONLY, set(installed) & CLOUD_ONLY
    locked = lock_versions()
    for name in ("paho-mqtt", "pyserial", "msgspec", *GATEWAY):
        assert installed.get(name) == locked[name], (
            f"{name}: installed {installed.get(name)}, locked {locked[name]}"
        )

    # the installed gateway works: its CLI loads, validates a configuration, and has no cloud
    out = subprocess.run(
        [env / "bin" / "bohsense", "edge", "check-config", "--config", str(ROOT / "deploy" / "gateway.example.toml")],
        capture_output=True, text=True, timeout=60, check=False,
        env={"BOHSENSE_EDGE_BROKER_PASSWORD": "s3cret-for-this-test", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["gateway_id"] == "store-0042"
    cloud = subprocess.run(
        [env / "bin" / "bohsense", "cloud", "run"], capture_output=True, text=True, check=False
    )
    assert cloud.returncode == 2
    assert "invalid choice: 'cloud'" in cloud.stderr


def test_gateway_syncs_alone_from_the_lock(tmp_path: Path) -> None:
    """What a source install on a gateway box does: the edge member alone, from uv.lock."""
    env = tmp_path / "venv"
    out = subprocess.run(
        [str(uv()), "sync", "--frozen", "--package", "bohsense-edge", "--no-dev", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env=uv_env(UV_PROJECT_ENVIRONMENT=str(env)),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    probe = subprocess.run(
        [str(env / "bin" / "python"), "-c",
         "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name'].lower(): d.version"
         " for d in m.distributions()}))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    installed = json.loads(probe.stdout)
    assert not set(installed) & CLOUD_ONLY, set(installed) & CLOUD_ONLY
    assert installed["pyserial"] == lock_versions()["pyserial"]
    assert set(GATEWAY) <= set(installed)
