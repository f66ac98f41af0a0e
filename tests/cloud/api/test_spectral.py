"""The OpenAPI document the API serves passes Spectral's OpenAPI ruleset (``spectral:oas``,
tools/spectral/.spectral.yaml) with no error and no warning.

Spectral is the version tools/spectral/package-lock.json pins, installed with ``npm ci``
into tools/spectral/node_modules when it is not there yet (the npm registry is reachable
where the tests run); without node and npm the test fails, saying so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from fastapi.testclient import TestClient

TOOLS = Path(__file__).resolve().parents[3] / "tools" / "spectral"
SPECTRAL = TOOLS / "node_modules" / ".bin" / "spectral"


def _spectral() -> Path:
    if not SPECTRAL.exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install Spectral (tools/spectral/package-lock.json): install Node.js"
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(TOOLS)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return SPECTRAL


def test_the_openapi_document_is_spectral_clean(client: TestClient, tmp_path: Path) -> None:
    doc = client.get("/openapi.json").json()
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(doc))
    done = subprocess.run(
        [
            str(_spectral()),
            "lint",
            "--ruleset",
            str(TOOLS / ".spectral.yaml"),
            "--format",
            "text",
            "--fail-severity",
            "warn",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"Spectral found problems:\n{done.stdout}\n{done.stderr}"
    assert "No results with a severity of 'warn' or higher found!" in done.stdout + done.stderr


def test_spectral_fails_on_a_document_with_problems(tmp_path: Path) -> None:
    # the same run, on a document with a known fault, is not clean: the check can fail
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"openapi": "3.1.0", "info": {"title": "x", "version": "1"}, "paths": {}}))
    done = subprocess.run(
        [
            str(_spectral()),
            "lint",
            "--ruleset",
            str(TOOLS / ".spectral.yaml"),
            "--fail-severity",
            "warn",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert "info-contact" in done.stdout
