"""Each deployable installs on its own: the gateway without the cloud's dependencies,
the cloud without the gateway's serial and RFID ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

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


def _resolve(*dists: str) -> set[str]:
    """The distributions pip would install for ``dists`` on an empty machine."""
    proc = subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
            "--disable-pip-version-check", "--report", "-", *(str(ROOT / d) for d in dists),
        ],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    return {item["metadata"]["name"].lower().replace("_", "-") for item in report["install"]}


def test_cloud_resolves_without_the_gateways_dependencies() -> None:
    names = _resolve("contracts", "models", "cloud")
    assert "fastapi" in names
    assert not names & EDGE_ONLY, names & EDGE_ONLY


def test_gateway_installs_and_runs_without_the_clouds_dependencies(tmp_path: Path) -> None:
    env = tmp_path / "gw"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    dists = []
    for d in ("contracts", "firmware_bridge", "edge"):  # built from copies: nothing written to the tree
        shutil.copytree(ROOT / d, tmp_path / "src" / d, ignore=shutil.ignore_patterns("build", "*.egg-info"))
        dists.append(str(tmp_path / "src" / d))
    subprocess.run(
        [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *dists],
        check=True, timeout=600, capture_output=True,
    )  # fmt: skip
    installed = subprocess.run(
        [py, "-m", "pip", "list", "--format=json"], check=True, capture_output=True, text=True
    ).stdout
    names = {d["name"].lower().replace("_", "-") for d in json.loads(installed)}
    assert "paho-mqtt" in names
    assert "pyserial" in names
    assert not names & CLOUD_ONLY, names & CLOUD_ONLY
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
