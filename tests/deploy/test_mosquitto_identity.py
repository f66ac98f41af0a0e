"""Gateway identities (bohsense.cloud.broker): password-file entries, the generated ACL,
and the ``bohsense cloud broker`` commands, on files (the broker itself is in
test_mosquitto_deploy.py)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bohsense.bench.servers import require_binary
from bohsense.cli import main
from bohsense.cloud.broker import (
    BrokerIdentityError,
    GatewayCredentials,
    UnknownGateway,
    create_gateway_identity,
    gateway_ids,
    hash_password,
    render_acl,
    revoke_gateway_identity,
    verify_password,
)
from bohsense.contracts import topics


def _files(tmp_path: Path) -> dict[str, Path]:
    return {"passwd_file": tmp_path / "passwd", "acl_file": tmp_path / "acl"}


def test_a_hash_is_mosquittos_7_format_and_verifies() -> None:
    entry = hash_password("correct horse battery staple")
    _, seven, rounds, salt, key = entry.split("$")
    assert (seven, rounds) == ("7", "1000")
    assert len(salt) == 16
    assert len(key) == 88
    assert verify_password("correct horse battery staple", entry)
    assert not verify_password("correct horse battery stapl", entry)
    assert hash_password("correct horse battery staple") != entry  # a fresh salt each time


def test_a_hash_written_by_mosquitto_passwd_verifies(tmp_path: Path) -> None:
    tool = require_binary("mosquitto_passwd", "mosquitto")
    subprocess.run([tool, "-c", "-b", str(tmp_path / "pw"), "u", "s3cret-Passw0rd"], check=True)
    entry = (tmp_path / "pw").read_text().strip().split(":", 1)[1]
    assert entry.startswith("$7$101$")
    assert verify_password("s3cret-Passw0rd", entry)
    assert not verify_password("s3cret-passw0rd", entry)


def test_the_acl_grants_each_gateway_its_own_channels_only() -> None:
    acl = render_acl(["store-2", "store-1", "store-1"])
    blocks = {b.splitlines()[0]: b.splitlines()[1:] for b in acl.split("\n\n") if b.startswith("user ")}
    assert list(blocks) == ["user store-1", "user store-2"]  # sorted, once each (cloud's block has a comment)
    for gw in ("store-1", "store-2"):
        expected = [
            f"topic {'write' if c.sender == 'gateway' else 'read'} {c.topic(gw)}"
            for c in topics.CHANNELS
            if c.sender == "gateway" or c.to_gateway
        ]
        assert blocks[f"user {gw}"] == expected
    cloud = acl.split("user bohsense-cloud\n")[1].split("\n\n")[0].splitlines()
    assert cloud == [
        f"topic {'read' if c.sender == 'gateway' else 'write'} {c.wildcard}" for c in topics.CHANNELS
    ] + [f"topic write {sc.wildcard}" for sc in topics.SITE_CHANNELS]
    assert "pattern" not in acl
    assert "#" not in acl.replace("# ", "")


@pytest.mark.parametrize("bad", ["", "has space", "a/b", "+", "#", "-lead", "x" * 65, "bohsense-cloud"])
def test_an_invalid_gateway_id_is_refused_clearly(tmp_path: Path, bad: str) -> None:
    with pytest.raises(BrokerIdentityError, match=r"gateway id|cloud service"):
        create_gateway_identity(bad, **_files(tmp_path))
    with pytest.raises(BrokerIdentityError):
        render_acl([bad])
    assert not (tmp_path / "passwd").exists()


def test_create_adds_replaces_and_revoke_removes(tmp_path: Path) -> None:
    f = _files(tmp_path)
    a = create_gateway_identity("store-1", **f)
    assert isinstance(a, GatewayCredentials)
    assert a.username == "store-1"
    assert len(a.password) == 32
    assert a.password not in repr(a)
    b = create_gateway_identity("store-2", **f, password="a-chosen-Password-42")
    assert b.password == "a-chosen-Password-42"
    assert gateway_ids(f["passwd_file"]) == ["store-1", "store-2"]
    assert f["acl_file"].read_text() == render_acl(["store-1", "store-2"])
    again = create_gateway_identity("store-1", **f)  # replaces: a new password, one line
    lines = f["passwd_file"].read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == ["store-2", "store-1"]
    entry = dict(line.split(":", 1) for line in lines)["store-1"]
    assert verify_password(again.password, entry)
    assert not verify_password(a.password, entry)
    assert a.password not in f["passwd_file"].read_text()
    revoke_gateway_identity("store-1", **f)
    assert gateway_ids(f["passwd_file"]) == ["store-2"]
    assert "store-1" not in f["acl_file"].read_text()
    with pytest.raises(UnknownGateway, match="store-1"):
        revoke_gateway_identity("store-1", **f)


def test_service_users_and_their_lines_are_kept(tmp_path: Path) -> None:
    f = _files(tmp_path)
    f["passwd_file"].write_text(f"bohsense-cloud:{hash_password('cloud-Password-123')}\n")
    f["passwd_file"].chmod(0o600)
    create_gateway_identity("store-1", **f)
    assert gateway_ids(f["passwd_file"]) == ["store-1"]
    assert f["passwd_file"].read_text().startswith("bohsense-cloud:$7$")
    assert f["passwd_file"].stat().st_mode & 0o777 == 0o600  # an existing file keeps its mode


@pytest.mark.parametrize("pw", ["short", " padded-password-123 ", "line\nbreak-password-123", "x" * 257])
def test_a_bad_chosen_password_is_refused_without_echoing_it(tmp_path: Path, pw: str) -> None:
    with pytest.raises(BrokerIdentityError) as exc:
        create_gateway_identity("store-1", **_files(tmp_path), password=pw)
    assert pw.strip() not in str(exc.value)


def test_concurrent_creations_lose_no_gateway(tmp_path: Path) -> None:
    f = _files(tmp_path)
    threads = [
        threading.Thread(target=create_gateway_identity, args=(f"store-{i}",), kwargs=f) for i in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gateway_ids(f["passwd_file"]) == sorted(f"store-{i}" for i in range(16))
    assert f["acl_file"].read_text() == render_acl(f"store-{i}" for i in range(16))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".passwd.") and p.name != ".passwd.lock"]


class _Cli:
    """``bohsense cloud broker …`` through the command line's own entry point."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.capsys, self.monkeypatch = capsys, monkeypatch

    def __call__(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["cloud", "broker", *args])
        out = self.capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)


def test_the_cli_prints_the_password_once_and_never_logs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _cli = _Cli(capsys, monkeypatch)
    files = ["--passwd-file", str(tmp_path / "passwd"), "--acl-file", str(tmp_path / "acl")]
    add = _cli("add-gateway", "store-7", *files)
    assert add.returncode == 0, add.stderr
    creds = json.loads(add.stdout)
    assert creds["username"] == "store-7"
    assert len(creds["password"]) == 32
    assert creds["password"] not in add.stderr
    assert "reload" in add.stderr
    chosen = _cli("add-gateway", "store-8", *files, "--password-stdin", stdin="a-chosen-Password-42\n")
    assert json.loads(chosen.stdout)["password"] == "a-chosen-Password-42"
    acl = _cli("acl", "--passwd-file", str(tmp_path / "passwd"))
    assert acl.returncode == 0
    assert acl.stdout == render_acl(["store-7", "store-8"])
    assert _cli("acl", "x1", "x2").stdout == render_acl(["x1", "x2"])
    bad = _cli("add-gateway", "no/slash", *files)
    assert bad.returncode == 2
    assert "gateway id" in bad.stderr
    assert not bad.stdout
    assert _cli("revoke-gateway", "store-7", *files).returncode == 0
    gone = _cli("revoke-gateway", "store-7", *files)
    assert gone.returncode == 1
    assert "no entry" in gone.stderr
    assert gateway_ids(tmp_path / "passwd") == ["store-8"]


@pytest.mark.long
def test_a_fleet_of_5000_gateways_loads_and_changes_quickly(tmp_path: Path) -> None:
    """Figures for docs/deploy.md ("Password file or dynamic security plugin")."""
    import getpass
    import time

    from bohsense.bench.servers import free_port, wait_port

    n = 5000
    ids = [f"store-{i:05d}" for i in range(n)]
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    passwd.write_text("".join(f"{g}:{hash_password('fleet-password-' + g)}\n" for g in ids))
    acl.write_text(render_acl(ids))
    t = time.perf_counter()
    creds = create_gateway_identity("store-new", passwd_file=passwd, acl_file=acl)
    add_s = time.perf_counter() - t
    port = free_port()
    conf = tmp_path / "m.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nuser {getpass.getuser()}\nallow_anonymous false\n"
        f"password_file {passwd}\nacl_file {acl}\nlog_dest stderr\n"
    )
    t = time.perf_counter()
    proc = subprocess.Popen(
        [require_binary("mosquitto", "mosquitto"), "-c", str(conf)], stderr=subprocess.DEVNULL
    )
    try:
        wait_port(port, proc)
        start_s = time.perf_counter() - t
        import paho.mqtt.client as mqtt

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="probe", protocol=mqtt.MQTTv5)
        c.username_pw_set("store-new", creds.password)
        assert c.connect("127.0.0.1", port) == 0
        c.disconnect()
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"\n{n} gateways: broker start {start_s:.2f} s, add-gateway {add_s:.2f} s")
    assert start_s < 10
    assert add_s < 5


def test_a_store_login_reads_only_its_stores_alert_channel() -> None:
    acl = render_acl(["store-1"], site_logins={"tech-s1": ["s1", "s1"], "tech-s2": ["s2"]})
    blocks = {b.splitlines()[0]: b.splitlines()[1:] for b in acl.split("\n\n") if b.startswith("user ")}
    assert blocks["user tech-s1"] == ["topic read bohsense/v1/site/s1/alert"]
    assert blocks["user tech-s2"] == ["topic read bohsense/v1/site/s2/alert"]
    technician = acl.split("user bohsense-technician\n")[1].split("\n\n")[0].splitlines()
    assert f"topic read {topics.ALL_SITE_ALERTS}" in technician
    with pytest.raises(BrokerIdentityError, match="also a gateway"):
        render_acl(["store-1"], site_logins={"store-1": ["s1"]})
    with pytest.raises(BrokerIdentityError, match="site id"):
        render_acl([], site_logins={"tech": ["a/b"]})
