"""``bohsense cloud migrate``: its own deployment step; several at once on one empty
PostgreSQL database do not race (an advisory lock serialises them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import sqlalchemy as sa

from bohsense.cloud.boh._db import MIGRATIONS


def _head() -> str:
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("0*.py"))


def test_three_workers_migrating_one_empty_database_at_once_all_succeed(pg_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOHSENSE_CLOUD_")}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bohsense",
                "--log-level",
                "WARNING",
                "cloud",
                "migrate",
                "--database",
                pg_url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert json.loads(out.splitlines()[-1])["revision"] == _head()
        assert "Traceback" not in err
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM alembic_version")) == 1
    finally:
        engine.dispose()


def test_an_unreachable_database_is_one_line_with_the_password_masked() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bohsense", "cloud", "migrate", "--database",
         "postgresql+psycopg://boh:hunter2-secret@127.0.0.1:1/boh"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "hunter2-secret" not in done.stderr
    assert "postgresql+psycopg://boh:***@127.0.0.1:1/boh" in done.stderr
    assert "Traceback" not in done.stderr
