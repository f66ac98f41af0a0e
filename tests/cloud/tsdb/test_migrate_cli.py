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


def test_migrated_points_get_their_sites_from_the_catalog(influxdb: InfluxDB, tmp_path: Path) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from bohsense.cloud.boh._db import migrate
    from bohsense.cloud.boh._models import Gateway

    url = f"sqlite:///{tmp_path}/boh.db"
    engine = create_engine(url)
    migrate(engine)
    with Session(engine) as s:
        s.add(Gateway(id="gw-1", site="store-0042"))
        s.commit()
    engine.dispose()
    db = influxdb.create_database(unique("cli-sites"))
    claimed = ReadingBatch(
        gateway="gw-1", seq=1, sent=0, site="claimed", readings=[Reading("vib-1", "temp_c", T0, 40.0)]
    )
    other = ReadingBatch(gateway="gw-2", seq=1, sent=0, readings=[Reading("vib-1", "temp_c", T0, 41.0)])
    _post(influxdb, db, "\n".join(legacy_lines([claimed, other])))
    run = _cli("--tsdb", f"influx1://127.0.0.1:{influxdb.port}/{db}", "--database", url)
    assert run.returncode == 0, run.stderr
    assert "sites of 1 gateways from the catalog" in run.stderr
    out = influxdb.query('SELECT last("temp_c") FROM "condition" GROUP BY "gateway", "site"', db)
    tags = sorted((s["tags"]["gateway"], s["tags"]["site"]) for s in out["results"][0]["series"])  # type: ignore[index]
    assert tags == [
        ("gw-1", "store-0042"),
        ("gw-2", ""),
    ]  # gw-2: not in the catalog (old points carry no site)
