"""``bohsense cloud migrate-timeseries`` against a real InfluxDB."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bohsense.cloud.tsdb._lineproto import legacy_lines
from bohsense.contracts.schema import Reading, ReadingBatch
from tests.cloud.tsdb._data import unique
from tests.support.services import InfluxDB

T0 = 1_750_000_000 * 10**9


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bohsense", "cloud", "migrate-timeseries", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )


def _post(influxdb: InfluxDB, db: str, body: str) -> None:
    import urllib.request

    req = urllib.request.Request(
        f"{influxdb.url}/write?db={db}&precision=ns", data=body.encode(), method="POST"
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 204


def test_the_command_migrates_reports_progress_and_drops_the_old_measurement(
    influxdb: InfluxDB, tmp_path: Path
) -> None:
    db = influxdb.create_database(unique("cli"))
    batch = ReadingBatch(
        gateway="gw-1",
        seq=1,
        sent=0,
        site="s1",
        readings=[Reading("shelf-1.lane-1", "weight_g", T0 + i * 10**9, 100.0 + i) for i in range(50)],
    )
    _post(influxdb, db, "\n".join(legacy_lines([batch])))
    run = _cli("--tsdb", f"influx1://127.0.0.1:{influxdb.port}/{db}", "--window", "20", "--drop-legacy")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1])["migrated"] == 50
    assert "migrated 50/50 readings" in run.stderr
    out = influxdb.query("SELECT count(weight_g) FROM shelf WHERE lane = 'lane-1'", db)
    assert out["results"][0]["series"][0]["values"][0][1] == 50  # type: ignore[index]
    shown = influxdb.query("SHOW MEASUREMENTS", db)["results"][0]["series"][0]["values"]  # type: ignore[index]
    assert [m for (m,) in shown] == ["shelf"]


def test_bad_arguments_and_an_unreachable_database_are_one_clear_line() -> None:
    assert _cli().returncode == 2
    bad = _cli("--tsdb", "nope://x")
    assert bad.returncode == 2
    assert "unknown time-series URL scheme" in bad.stderr
    down = _cli(
        "--tsdb", "influx1://127.0.0.1:1/db", "--database", "postgresql+psycopg://u:secret@127.0.0.1:1/x"
    )
    assert down.returncode == 1
    assert "secret" not in down.stderr
    assert "Traceback" not in down.stderr
    sqlite = _cli("--tsdb", "sqlite:///:memory:")
    assert sqlite.returncode == 0
    assert "nothing to migrate" in sqlite.stdout
