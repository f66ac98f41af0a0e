"""``bohsense.contracts.sdnotify`` and ``bohsense.contracts.credentials`` on their own: the
datagrams systemd would read, on a path and an abstract socket, and the credential files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bohsense.contracts.credentials import CredentialError, read_credentials
from bohsense.contracts.sdnotify import Notifier
from tests.deploy._notify import NotifySocket


@pytest.mark.parametrize("abstract", [True, False], ids=["abstract", "path"])
def test_every_notification_arrives_as_one_datagram_of_key_value_lines(
    tmp_path: Path, abstract: bool
) -> None:
    sock = NotifySocket(None if abstract else tmp_path)
    try:
        assert sock.address.startswith("@") is abstract
        n = Notifier.from_environment(sock.env(watchdog_usec=3_000_000))
        assert n.enabled
        assert n.ping_interval_s == 1.5
        assert n.ready("serving\non two lines")
        assert n.watchdog()
        assert n.reloading()
        assert n.status("reloaded")
        assert n.stopping()
        sock.wait_for(lambda m: "STOPPING" in m, 5, "STOPPING=1")
        got = [m for _, m in sock.snapshot()]
        assert got[0] == {"READY": "1", "STATUS": "serving on two lines"}  # one line for systemctl
        assert got[1] == {"WATCHDOG": "1"}
        assert got[2]["RELOADING"] == "1"
        assert int(got[2]["MONOTONIC_USEC"]) > 0
        assert got[3:] == [{"STATUS": "reloaded"}, {"STOPPING": "1", "STATUS": "stopping"}]
        assert n.sent == 5
        n.close()
    finally:
        sock.close()


def test_without_notify_socket_nothing_is_sent_and_nothing_fails() -> None:
    n = Notifier.from_environment({"WATCHDOG_USEC": "1000000"})
    assert not n.enabled
    assert n.ping_interval_s is None
    assert n.ready("x") is False
    assert n.watchdog() is False


def test_the_watchdog_is_for_the_process_systemd_named_only(tmp_path: Path) -> None:
    sock = NotifySocket(tmp_path)
    try:
        other = Notifier.from_environment({**sock.env(2_000_000), "WATCHDOG_PID": str(os.getpid() + 1)})
        assert other.ping_interval_s is None
        assert other.watchdog() is False
        mine = Notifier.from_environment({**sock.env(2_000_000), "WATCHDOG_PID": str(os.getpid())})
        assert mine.ping_interval_s == 1.0
    finally:
        sock.close()


def test_a_socket_that_is_gone_loses_the_message_without_an_error(tmp_path: Path) -> None:
    n = Notifier(str(tmp_path / "nobody-listens.sock"), 1_000_000)
    assert n.enabled
    assert n.ready("x") is False
    assert n.watchdog() is False
    assert n.sent == 0


def test_credentials_are_read_by_name_with_one_trailing_newline_removed(tmp_path: Path) -> None:
    (tmp_path / "broker-password").write_text("Xq7!pL2#vR9$wT4k\n")
    (tmp_path / "api-token").write_bytes(b"tok")
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert read_credentials({"broker-password", "api-token", "other"}, env) == {
        "broker-password": "Xq7!pL2#vR9$wT4k",
        "api-token": "tok",
    }
    assert read_credentials({"x"}, {}) == {}  # not under systemd: none


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("brokr-password", b"Xq7!pL2#vR9$wT4k", "credential 'brokr-password' ("),
        ("broker-password", b"\n", "credential 'broker-password' ("),
        ("broker-password", b"s3cret-line\nsecond", "has more than one line"),
        ("broker-password", b"\xff\xfe-s3cret", "is not UTF-8 text"),
    ],
)
def test_a_credential_that_cannot_be_used_is_named_without_its_content(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CredentialError, match=None) as caught:
        read_credentials({"broker-password"}, {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    text = str(caught.value)
    assert message in text
    assert "s3cret" not in text
    assert "Xq7" not in text
