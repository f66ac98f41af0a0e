"""The cloud worker as systemd runs it: a real ``bohsense cloud run`` process with
``NOTIFY_SOCKET`` on a socket this test owns and ``WATCHDOG_USEC`` set, on a real
PostgreSQL and Mosquitto. READY=1 comes once the database is migrated, the API answers
and ingest is subscribed; then watchdog pings; STOPPING=1 on SIGTERM; secrets come from
systemd credentials and never show."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.deploy._notify import NotifySocket
from tests.support.services import Mosquitto

WATCHDOG_USEC = 1_000_000  # pings every 0.5 s; a gap must stay under 1 s (a loaded CI machine)
TOKEN = "Rk4vQ9zLm2Xw7Tb5Nc8Hd3Fj6Gp1Sa0E"


def _env(**extra: str) -> dict[str, str]:
    drop = ("BOHSENSE_CLOUD_", "NOTIFY_SOCKET", "WATCHDOG_", "CREDENTIALS_DIRECTORY")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)} | extra


def _get(url: str, token: str | None = None) -> int:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _port(status: str) -> int:
    # "API on 127.0.0.1:PORT; ingest subscribed; …"
    return int(status.split("API on 127.0.0.1:", 1)[1].split(";", 1)[0])


def test_ready_once_migrated_serving_and_subscribed_then_pings_then_stopping(
    tmp_path: Path, mosquitto: Mosquitto, pg_url: str
) -> None:
    notify = NotifySocket(tmp_path)  # a path socket (the edge's test uses an abstract one)
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "api-token").write_text(TOKEN + "\n")
    (creds / "database-password").write_text("pg-cred-secret\n")  # trust auth: accepted, unused
    env = _env(
        **notify.env(WATCHDOG_USEC),
        CREDENTIALS_DIRECTORY=str(creds),
        BOHSENSE_CLOUD_BROKER_URL=mosquitto.url,
        BOHSENSE_CLOUD_CLIENT_ID=f"sd-{uuid.uuid4().hex[:10]}",
        BOHSENSE_CLOUD_TSDB_URL=f"sqlite:///{tmp_path}/ts.db",
        BOHSENSE_CLOUD_DATABASE_URL=pg_url,
        BOHSENSE_CLOUD_API_PORT="0",
    )
    began = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bohsense", "cloud", "run"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        i, ready_at, ready = notify.wait_for(lambda m: m.get("READY") == "1", 40, "READY=1")
        assert "ingest subscribed" in ready["STATUS"], ready
        print(f"READY=1 {ready_at - began:.2f} s after the start: {[m for _, m in notify.snapshot()[:i]]}")
        port = _port(ready["STATUS"])
        # really ready: the API answers at once, the schema is there, the token is the credential's
        assert _get(f"http://127.0.0.1:{port}/api/v1/health") == 200
        assert _get(f"http://127.0.0.1:{port}/api/v1/audit") == 401
        assert _get(f"http://127.0.0.1:{port}/api/v1/audit", TOKEN) == 200
        engine = sa.create_engine(pg_url)
        try:
            with engine.connect() as conn:
                assert conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
        finally:
            engine.dispose()
        starting = [m for _, m in notify.snapshot()[:i]]
        assert any(m.get("STATUS", "").startswith("starting: migrating the BOH database") for m in starting)
        assert all("WATCHDOG" not in m for m in starting), "no pings before READY=1"
        time.sleep(2.0)
        pings = [at for at, m in notify.snapshot() if m.get("WATCHDOG") == "1" and at > ready_at]
        assert len(pings) >= 3, pings
        gaps = [b - a for a, b in itertools.pairwise(pings)]
        assert max(gaps) < WATCHDOG_USEC / 1e6, gaps
        proc.send_signal(signal.SIGHUP)  # settings are read at start only: logged, nothing stops
        time.sleep(0.3)
        assert proc.poll() is None
        mark = len(notify.snapshot())
        proc.send_signal(signal.SIGTERM)
        notify.wait_for(lambda m: m.get("STOPPING") == "1", 10, "STOPPING=1", after=mark)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        notify.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "SIGHUP: nothing reloaded" in err
    # the deployment step takes the same credential (the schema is current by now: fast)
    _check_migrate_takes_the_database_password(creds, pg_url)
    for secret in (TOKEN, "pg-cred-secret"):
        assert secret not in err
        assert all(secret not in json.dumps(m) for _, m in notify.snapshot())


def _migrate_with_credentials(creds: Path, url: str) -> tuple[int, str, str]:
    """``bohsense cloud migrate`` in-process, with ``creds`` as the credentials directory."""
    import contextlib
    import io

    from bohsense.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = os.environ.get("CREDENTIALS_DIRECTORY")
    os.environ["CREDENTIALS_DIRECTORY"] = str(creds)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["cloud", "migrate", "--database", url])
    finally:
        if old is None:
            del os.environ["CREDENTIALS_DIRECTORY"]
        else:
            os.environ["CREDENTIALS_DIRECTORY"] = old
    return code, out.getvalue(), err.getvalue()


def _check_migrate_takes_the_database_password(creds: Path, pg_url: str) -> None:
    assert ":" not in pg_url.split("://", 1)[1].split("@", 1)[0], "the fixture's URL has no password"
    code, out, err = _migrate_with_credentials(creds, pg_url)
    assert code == 0, err
    shown = json.loads(out)["database"]
    assert shown.split("@", 1)[0].endswith(":***"), shown  # the credential's password was applied
    assert "pg-cred-secret" not in out + err
    # a URL with no user cannot take it: one line, exit 78
    code, _, err = _migrate_with_credentials(creds, "postgresql+psycopg://127.0.0.1/none")
    assert code == 78
    assert err.startswith("bohsense cloud migrate: credential database-password is set but database_url"), err
    assert "pg-cred-secret" not in err


def test_check_config_shows_credentials_masked_and_says_which_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bohsense.cli import main
    from bohsense.cloud.settings import CloudSettings

    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "api-token").write_text(TOKEN)
    (creds / "database-password").write_text("db-cred-pw")
    (creds / "tsdb-token").write_text("tsdb-cred-token")
    (creds / "broker-password").write_text("broker-cred-pw")
    (creds / "webhook-secret").write_text("whsec-cred-0123456789")
    for name in [k for k in os.environ if k.startswith("BOHSENSE_CLOUD_")]:
        monkeypatch.delenv(name)
    for name, value in {
        "CREDENTIALS_DIRECTORY": str(creds),
        "BOHSENSE_CLOUD_API_TOKEN": "Env-token-that-loses-9XkQ2mZ7vL4",  # the credential wins
        "BOHSENSE_CLOUD_BROKER_URL": "mqtts://ingest@mqtt.example:8883",
        "BOHSENSE_CLOUD_TSDB_URL": "influx2://influx.example:8086?org=ops&bucket=bohsense",
        "BOHSENSE_CLOUD_DATABASE_URL": "postgresql+psycopg://boh:env-pw@db.example/boh",
        "BOHSENSE_CLOUD_WEBHOOK_ORDERS_URL": "https://erp.example/hooks",
    }.items():
        monkeypatch.setenv(name, value)
    # the command line loses to the credential too (its URL's password is replaced)
    code = main(["cloud", "check-config", "--database", "postgresql+psycopg://boh:flag-pw@db.example/boh"])
    out, err = capsys.readouterr()
    assert code == 0, err
    shown = json.loads(out)
    assert shown["api_token"] == "***"
    assert shown["webhook_secret"] == "***"
    assert shown["broker_url"] == "mqtts://ingest:***@mqtt.example:8883"
    assert shown["tsdb_url"] == "influx2://influx.example:8086?org=ops&bucket=bohsense&token=***"
    assert shown["database_url"] == "postgresql+psycopg://boh:***@db.example/boh"
    for secret in (
        TOKEN,
        "db-cred-pw",
        "tsdb-cred-token",
        "broker-cred-pw",
        "whsec-cred",
        "env-pw",
        "flag-pw",
    ):
        assert secret not in out + err

    s = CloudSettings(database_url="postgresql+psycopg://boh:flag-pw@db.example/boh")
    assert s.api_token is not None
    assert s.api_token.get_secret_value() == TOKEN
    assert s.database_url == "postgresql+psycopg://boh:db-cred-pw@db.example/boh"
    assert s.tsdb_url.endswith("&token=tsdb-cred-token")
    assert s.broker_url == "mqtts://ingest:broker-cred-pw@mqtt.example:8883"
    assert s.webhook_secret is not None
    assert s.webhook_secret.get_secret_value() == "whsec-cred-0123456789"


def test_a_credential_that_cannot_apply_is_exit_78_and_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pydantic import ValidationError

    from bohsense.cloud.cli import settings_error
    from bohsense.cloud.settings import CloudSettings

    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "database-password").write_text("db-cred-pw")
    (creds / "tsdb-token").write_text("tsdb-cred-token")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    # a password for a URL that names no user; a token for a store that takes none
    monkeypatch.setenv("BOHSENSE_CLOUD_DATABASE_URL", "postgresql+psycopg://db.example/boh")
    monkeypatch.setenv("BOHSENSE_CLOUD_TSDB_URL", "influx1://influx.example:8086/bohsense")
    with pytest.raises(ValidationError) as caught:
        CloudSettings()
    line = settings_error(caught.value)
    assert line.startswith("credential database-password is set but database_url"), line
    assert "postgresql+psycopg://db.example/boh names no user" in line
    assert "db-cred-pw" not in line
    monkeypatch.setenv("BOHSENSE_CLOUD_DATABASE_URL", "postgresql+psycopg://boh@db.example/boh")
    with pytest.raises(ValidationError) as caught:
        CloudSettings()
    line = settings_error(caught.value)
    assert line.startswith("credential tsdb-token is set but tsdb_url influx1://"), line
    assert "tsdb-cred-token" not in line
    (creds / "tsdb-token").unlink()
    (creds / "database-password").unlink()
    (creds / "api_token").write_text(TOKEN)  # misspelt: systemd names it as the unit says
    from bohsense.cli import main

    assert main(["cloud", "check-config"]) == 78
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "credential 'api_token'" in err
    assert "known: api-token" in err
    assert TOKEN not in err
