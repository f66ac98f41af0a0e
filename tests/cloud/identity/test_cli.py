"""``bohsense cloud user …`` and ``bohsense cloud api-key …``: a password only from stdin,
a key printed once and kept only as a hash."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bohsense.cli import main

PASSWORD = "a good password for ann"


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """``main`` sets up logging on the (captured) stderr; put the root logger back after."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def db(db_url: str) -> str:
    return db_url


def _run(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> tuple[int, str, str]:  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_users_are_added_listed_given_a_password_and_disabled(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["cloud", "user"]
    code, out, _ = _run([*base, "add", "ann", "--role", "technician", "--site", "S1", "--password-stdin", "--database", db], capsys, monkeypatch, PASSWORD + "\n")  # fmt: skip
    assert code == 0
    assert json.loads(out) == {
        "name": "ann", "role": "technician", "sites": ["S1"], "disabled": False, "display_name": "",
        "language": None, "has_password": True,
    }  # fmt: skip
    engine = create_engine(db)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users")).scalar_one()
    engine.dispose()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    # stdin that is not a terminal, without --password-stdin: refused rather than read blindly
    code, _, err = _run([*base, "add", "bob", "--role", "hq", "--database", db], capsys, monkeypatch)
    assert code == 2
    assert "--password-stdin" in err
    code, _, err = _run([*base, "add", "ann", "--role", "hq", "--no-password", "--database", db], capsys, monkeypatch)  # fmt: skip
    assert code == 1
    assert "exists" in err
    code, _, err = _run([*base, "add", "cy", "--role", "boss", "--no-password", "--database", db], capsys, monkeypatch)  # fmt: skip
    assert code == 2
    assert "role" in err
    code, _, _ = _run([*base, "set-password", "ann", "--password-stdin", "--database", db], capsys, monkeypatch, "another good one\n")  # fmt: skip
    assert code == 0
    code, out, _ = _run([*base, "disable", "ann", "--database", db], capsys, monkeypatch)
    assert code == 0
    assert json.loads(out)["disabled"] is True
    code, out, _ = _run([*base, "list", "--database", db], capsys, monkeypatch)
    assert [json.loads(line)["name"] for line in out.splitlines()] == ["ann"]
    assert _run([*base, "disable", "nobody", "--database", db], capsys, monkeypatch)[0] == 1


def test_an_api_key_is_printed_once_and_revoked(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["cloud", "api-key"]
    code, out, err = _run([*base, "create", "pos-feed", "--role", "admin", "--scope", "pos:write", "--expires-days", "30", "--database", db], capsys, monkeypatch)  # fmt: skip
    assert code == 0, err
    created = json.loads(out)
    assert created["key"].startswith(f"bsk_{created['prefix']}_")
    assert created["scopes"] == ["pos:write"]
    assert created["expires_ns"] is not None
    assert "shown this once" in err
    assert created["key"] not in err
    code, out, _ = _run([*base, "list", "--database", db], capsys, monkeypatch)
    listed = [json.loads(line) for line in out.splitlines()]
    assert [k["id"] for k in listed] == [created["id"]]
    assert created["key"].split("_", 2)[2] not in out
    code, out, _ = _run([*base, "revoke", str(created["id"]), "--database", db], capsys, monkeypatch)
    assert code == 0
    assert json.loads(out)["active"] is False
    code, _, err = _run([*base, "create", "k", "--role", "hq", "--scope", "everything", "--database", db], capsys, monkeypatch)  # fmt: skip
    assert code == 2
    assert "scope" in err


def test_every_command_docs_auth_md_shows_parses() -> None:
    import re
    import shlex

    from bohsense.cli import build_parser

    doc = (Path(__file__).resolve().parents[3] / "docs" / "auth.md").read_text()
    lines = [
        line.split("#", 1)[0].strip()
        for block in re.findall(r"```sh\n(.*?)```", doc, flags=re.S)
        for line in block.splitlines()
    ]
    commands = [shlex.split(line)[1:] for line in lines if line.startswith("bohsense ")]
    assert len(commands) >= 9
    for argv in commands:
        assert callable(build_parser().parse_args(argv).handler), argv
