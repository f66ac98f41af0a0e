"""The systemd units: their hardening measured by ``systemd-analyze security`` (offline,
on the files as shipped) stays under 2.5 for both services, as docs/deploy.md records."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def exposure(unit: Path) -> float:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is not installed (Debian package systemd): cannot score the units")
    done = subprocess.run(
        [tool, "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout + done.stderr)
    assert found, done.stdout + done.stderr
    return float(found.group(1))


@pytest.mark.parametrize("name", ["bohsense-edge.service", "bohsense-cloud.service"])
def test_each_unit_scores_under_2_5_and_the_docs_say_its_score(name: str) -> None:
    score = exposure(DEPLOY / name)
    assert score < 2.5, f"{name}: exposure {score}"
    assert f"| `{name}` | {score} |" in DOC.read_text(), (
        f"docs/deploy.md does not record {name}'s score {score}"
    )


def test_the_units_keep_what_the_services_need() -> None:
    edge = (DEPLOY / "bohsense-edge.service").read_text()
    assert "DeviceAllow=char-ttyUSB rw" in edge  # the serial ports stay reachable
    assert "StateDirectory=bohsense-edge" in edge  # the outbox stays writable under ProtectSystem=strict
    assert "RestartPreventExitStatus=2" in edge
    cloud = (DEPLOY / "bohsense-cloud.service").read_text()
    assert "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" in cloud
    assert "RestartPreventExitStatus=2" in cloud
