"""The systemd units: their hardening measured by ``systemd-analyze security`` (offline,
on the files as shipped) stays under 2.5 for both services, as docs/deploy.md records;
they verify with ``systemd-analyze verify``; they are ``Type=notify`` with a watchdog, do
not restart on a configuration error, and load every secret as a credential."""

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


def _directives(unit: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def test_the_units_keep_what_the_services_need() -> None:
    edge = _directives(DEPLOY / "bohsense-edge.service")
    assert "char-ttyUSB rw" in edge["DeviceAllow"]  # the serial ports stay reachable
    assert edge["StateDirectory"] == ["bohsense-edge"]  # the outbox stays writable under ProtectSystem=strict
    cloud = _directives(DEPLOY / "bohsense-cloud.service")
    assert cloud["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"]  # AF_UNIX: sd_notify too


@pytest.mark.parametrize("name", ["bohsense-edge.service", "bohsense-cloud.service"])
def test_each_unit_is_notify_with_a_watchdog_and_restarts_only_what_a_restart_fixes(name: str) -> None:
    unit = _directives(DEPLOY / name)
    assert unit["Type"] == ["notify"]
    assert unit["NotifyAccess"] == ["main"]
    assert unit["WatchdogSec"] == ["30s"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["RestartSec"] == ["5s"]
    # 78 (EX_CONFIG): what bohsense.edge.cli and bohsense.cloud.service exit with on a config error
    from bohsense.cloud.service import EXIT_CONFIG as CLOUD_CONFIG
    from bohsense.edge.cli import EXIT_CONFIG as EDGE_CONFIG

    assert CLOUD_CONFIG == EDGE_CONFIG == 78
    assert unit["RestartPreventExitStatus"] == ["78 2"]


def test_every_secret_setting_has_its_credential_in_the_unit() -> None:
    from bohsense.cloud.settings import CREDENTIALS as CLOUD
    from bohsense.edge.settings import CREDENTIALS as EDGE

    for name, known in (("bohsense-edge.service", EDGE), ("bohsense-cloud.service", CLOUD)):
        loaded = _directives(DEPLOY / name)["LoadCredential"]
        service = name.removesuffix(".service")
        assert sorted(loaded) == sorted(f"{c}:{service}.{c}" for c in known), (name, loaded)


@pytest.mark.parametrize("name", ["bohsense-edge.service", "bohsense-cloud.service"])
def test_each_unit_verifies_with_no_warning(tmp_path: Path, name: str) -> None:
    """``systemd-analyze verify`` on the unit as shipped, its ``/opt/bohsense`` command
    pointed at an executable that exists here: unknown or misspelt directives and bad
    values are reported (directives newer than the installed systemd too)."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is not installed (Debian package systemd): cannot verify the units")
    unit = tmp_path / name
    unit.write_text((DEPLOY / name).read_text().replace("/opt/bohsense/bin/bohsense", "/bin/true"))
    done = subprocess.run(
        [tool, "verify", "--no-pager", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (done.stdout + done.stderr).strip() == "", done.stdout + done.stderr
