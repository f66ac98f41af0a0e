"""``bohsense store commission import|config|verify`` in-process, on SQLite files."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
from pathlib import Path

import pytest

from bohsense.cli import main
from bohsense.cloud.boh import BohCore
from bohsense.cloud.broker import verify_password
from bohsense.cloud.tsdb import open_store
from bohsense.contracts.schema import Reading, ReadingBatch
from bohsense.contracts.timeutil import now_ns
from tests.cloud.commission.sheets import EXAMPLE, example_sections, to_xlsx


@pytest.fixture
def urls(tmp_path: Path, migrated_db: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    db = tmp_path / "boh.sqlite3"
    db.write_bytes(migrated_db.read_bytes())
    database, tsdb = f"sqlite:///{db}", f"sqlite:///{tmp_path / 'ts.sqlite3'}"
    monkeypatch.setenv("BOHSENSE_CLOUD_DATABASE_URL", database)
    monkeypatch.setenv("BOHSENSE_CLOUD_TSDB_URL", tsdb)
    return database, tsdb


def test_import_makes_the_login_and_config_and_the_password_is_shown_once_never_logged(
    tmp_path: Path,
    urls: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    files = ["--passwd-file", str(tmp_path / "passwd"), "--acl-file", str(tmp_path / "acl")]
    rc = main(
        ["store", "commission", "import", str(EXAMPLE), "--config-out", str(tmp_path / "gw.toml"), *files]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    (entry,) = (tmp_path / "passwd").read_text().split()
    password = out.split("or BOHSENSE_EDGE_BROKER_PASSWORD): ", 1)[1].split()[0]
    assert verify_password(password, entry.split(":", 1)[1])
    assert out.count(password) == 1
    assert password not in caplog.text
    assert password not in (tmp_path / "gw.toml").read_text()
    assert "user gw-0042" in (tmp_path / "acl").read_text()
    assert "imported site store-0042, gateway gw-0042" in out

    rc = main(["store", "commission", "import", str(EXAMPLE), *files, "--password-out", str(tmp_path / "pw")])
    out = capsys.readouterr().out
    assert rc == 0
    again = (tmp_path / "pw").read_text().strip()
    assert again not in out
    assert stat.S_IMODE((tmp_path / "pw").stat().st_mode) == 0o600
    assert again != password  # a new import makes a new password
    rc = main(["store", "commission", "config", "--site", "store-0042"])
    assert rc == 0
    assert capsys.readouterr().out == (tmp_path / "gw.toml").read_text()


def test_an_invalid_sheet_exits_2_with_every_error_and_imports_nothing(
    tmp_path: Path, urls: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sections = example_sections()
    sections["lanes"][1][3] = "heavy"
    sections["assets"][2][4] = "huge"
    sheet = tmp_path / "bad.xlsx"
    sheet.write_bytes(to_xlsx(sections))
    assert main(["store", "commission", "import", str(sheet)]) == 2
    err = capsys.readouterr().err
    assert "sheet 'lanes' row 2 column D (unit_weight_g): must be a number, not 'heavy'" in err
    assert "sheet 'assets' row 3 column E (machine_class): 'huge' is not one of" in err
    core = BohCore(urls[0])
    assert core.list_sites() == []
    core.close()
    assert main(["store", "commission", "import", str(tmp_path / "none.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["store", "commission", "verify", "--site", "store-0042"]) == 2
    assert "no imported hand-over sheet" in capsys.readouterr().err


def test_verify_writes_the_html_and_json_reports_and_exits_1_until_all_pass(
    tmp_path: Path, urls: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["store", "commission", "import", str(EXAMPLE)]) == 0
    now = now_ns()
    readings = [
        Reading("shelf-01.lane-1", "weight_g", now - 10**9, 352.0 * 7 + 20.0),
        Reading("shelf-01.lane-2", "weight_g", now - 10**9, 352.0 * 13),  # over its capacity of 12
        Reading("vib-01", "temp_c", now - 10**9, 3.9),
    ]
    batch = ReadingBatch(gateway="gw-0042", seq=1, sent=now, readings=readings, site="store-0042")
    core = BohCore(urls[0])
    core.apply_batches([batch])
    core.close()

    async def write() -> None:
        store = open_store(urls[1])
        await store.setup()
        await store.write([batch])
        await store.close()

    asyncio.run(write())
    report, data = tmp_path / "checklist.html", tmp_path / "checklist.json"
    rc = main(
        [
            "store",
            "commission",
            "verify",
            "--site",
            "store-0042",
            "--report",
            str(report),
            "--json",
            str(data),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 1, out
    body = json.loads(data.read_text())
    status = {(i["check"], i["subject"]): i["status"] for i in body["items"]}
    assert status[("lane", "shelf-01.lane-1")] == "pass"
    assert status[("lane", "shelf-01.lane-2")] == "fail"
    assert status[("lane", "shelf-01.lane-3")] == "missing"
    assert status[("device", "shelf-01")] == "fail"  # 2 of its 3 lanes report
    assert status[("asset", "cooler-01")] == "pass"
    assert status[("device", "vib-01")] == "pass"
    assert body["summary"] == {k: list(status.values()).count(k) for k in ("pass", "fail", "missing")}
    html = report.read_text()
    assert "more than its capacity of 12" in html
    assert html.count("<tr data-check=") == len(body["items"])
    assert "fail     lane     shelf-01.lane-2: " in out


def test_registering_the_cli_imports_nothing_heavy() -> None:
    """``bohsense`` loads every command's parser at each start: this one costs nothing."""
    import subprocess
    import sys

    code = (
        "import argparse, sys; from bohsense.cloud.commission.cli import register;"
        " register(argparse.ArgumentParser().add_subparsers());"
        " print(sorted(m for m in ('bohsense.cloud.boh', 'openpyxl', 'sqlalchemy', 'fastapi') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_check_only_checks(tmp_path: Path, urls: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "commission", "import", str(EXAMPLE), "--check"]) == 0
    assert "valid: site store-0042, gateway gw-0042, 5 devices, 5 lanes" in capsys.readouterr().out
    core = BohCore(urls[0])
    assert core.list_sites() == []
    core.close()
