"""The gateway as systemd runs it: a real ``bohsense edge run`` process with ``NOTIFY_SOCKET``
on a socket this test owns and ``WATCHDOG_USEC`` set. It says READY=1 only once its outbox
is open and its drivers run, keeps pinging the watchdog, brackets a SIGHUP reload with
RELOADING=1 / READY=1, says STOPPING=1 on SIGTERM; a configuration error is exit 78 and
one line; the broker password can come from a systemd credential."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy._notify import NotifySocket
from tests.support.services import Mosquitto

WATCHDOG_USEC = 400_000  # pings expected every 0.2 s
STRONG = "Vq8#Lt3!Zx6@Rw1m"


def _env(**extra: str) -> dict[str, str]:
    drop = ("BOHSENSE_EDGE_", "NOTIFY_SOCKET", "WATCHDOG_", "CREDENTIALS_DIRECTORY")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)} | extra


def _config(tmp_path: Path, broker: str, *, extra: str = "") -> Path:
    cfg = tmp_path / "gateway.toml"
    cfg.write_text(
        f'gateway_id = "sd-{uuid.uuid4().hex[:10]}"\nstatus_interval_s = 0.3\n{extra}'
        f'[broker]\nurl = "{broker}"\n[outbox]\npath = "{tmp_path}/outbox.sqlite3"\n'
        '[[devices]]\nname = "syn"\nkind = "synthetic"\ndevices = 2\nrate_hz = 20\n'
    )
    return cfg


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(None)  # abstract, as systemd's own is on some systems
    yield sock
    sock.close()


def _start(cfg: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bohsense", "edge", "run", "--config", str(cfg)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def test_ready_status_watchdog_reload_and_stopping_reach_systemd(
    tmp_path: Path, mosquitto: Mosquitto, notify: NotifySocket
) -> None:
    cfg = _config(tmp_path, mosquitto.url)
    proc = _start(cfg, _env(**notify.env(WATCHDOG_USEC)))
    try:
        i, ready_at, ready = notify.wait_for(lambda m: m.get("READY") == "1", 20, "READY=1")
        assert (tmp_path / "outbox.sqlite3").exists(), "READY=1 before the outbox was open"
        assert "drivers: 1;" in ready["STATUS"], ready
        assert "outbox: 0 batches" in ready["STATUS"], ready
        before = [m for _, m in notify.snapshot()[:i]]
        assert all("WATCHDOG" not in m for m in before), "no pings before READY=1"
        # status lines follow the broker and the readings (status_interval_s = 0.3)
        _, _, _status = notify.wait_for(
            lambda m: (
                f"connected to {mosquitto.url}" in m.get("STATUS", "")
                and not m["STATUS"].startswith("not")
                and "readings in: 0" not in m["STATUS"]
            ),
            15,
            "a STATUS line saying connected, with readings",
            after=i,
        )
        time.sleep(1.0)
        pings = [at for at, m in notify.snapshot() if m.get("WATCHDOG") == "1" and at > ready_at]
        assert len(pings) >= 3, pings
        gaps = [b - a for a, b in itertools.pairwise(pings)]
        assert max(gaps) < WATCHDOG_USEC / 1e6, f"a ping gap reached the watchdog timeout: {gaps}"

        # SIGHUP with a changed log format: RELOADING=1, then READY=1 saying what happened
        mark = len(notify.snapshot())
        cfg.write_text(
            cfg.read_text().replace(
                "status_interval_s = 0.3\n", 'status_interval_s = 0.3\nlog_format = "json"\n'
            )
        )
        proc.send_signal(signal.SIGHUP)
        r, _, reloading = notify.wait_for(lambda m: m.get("RELOADING") == "1", 10, "RELOADING=1", after=mark)
        assert int(reloading["MONOTONIC_USEC"]) > 0
        _, _, reloaded = notify.wait_for(lambda m: m.get("READY") == "1", 10, "READY=1 after reload", after=r)
        assert reloaded["STATUS"].startswith("reloaded; log_format applied"), reloaded

        # SIGHUP with a broken file: refused, still READY, and the status says so
        mark = len(notify.snapshot())
        cfg.write_text("gateway_id = [\n")
        proc.send_signal(signal.SIGHUP)
        _, _, refused = notify.wait_for(
            lambda m: m.get("READY") == "1", 10, "READY=1 after a refused reload", after=mark
        )
        assert refused["STATUS"].startswith("reload refused, configuration not changed"), refused
        assert proc.poll() is None, "a bad reload must not stop the gateway"

        mark = len(notify.snapshot())
        proc.send_signal(signal.SIGTERM)
        notify.wait_for(lambda m: m.get("STOPPING") == "1", 10, "STOPPING=1", after=mark)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_a_configuration_error_is_exit_78_one_line_and_no_ready(tmp_path: Path, notify: NotifySocket) -> None:
    cfg = tmp_path / "gateway.toml"
    cfg.write_text('gateway_id = "g-1"\n[broker]\nurl = "mqtt://127.0.0.1:1"\nkeepalive_s = 1\n')
    started = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "bohsense", "edge", "run", "--config", str(cfg)],
        capture_output=True, text=True, timeout=60, env=_env(**notify.env(WATCHDOG_USEC)),
    )  # fmt: skip
    assert r.returncode == 78, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "broker.keepalive_s" in lines[0], lines[0]
    assert ">= 5" in lines[0], lines[0]
    assert "Traceback" not in r.stderr
    assert time.monotonic() - started < 30
    assert all("READY" not in m for _, m in notify.snapshot())


def test_the_broker_password_comes_from_a_credential_and_never_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "broker-password").write_text(STRONG + "\n")
    cfg = _config(tmp_path, "mqtt://127.0.0.1:1883", extra="")
    cfg.write_text(cfg.read_text().replace("[broker]\n", '[broker]\nusername = "gw-store"\n'))
    # the environment names a weak password: the credential wins over it and over the file
    env = _env(CREDENTIALS_DIRECTORY=str(creds), BOHSENSE_EDGE_BROKER_PASSWORD="password")
    r = subprocess.run(
        [sys.executable, "-m", "bohsense", "edge", "check-config", "--config", str(cfg)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert '"password": "***"' in r.stdout
    assert STRONG not in r.stdout + r.stderr

    from bohsense.edge.settings import load_settings

    assert load_settings(cfg, env=env).broker.password == STRONG

    # a weak credential is refused like a weak password, without echoing it
    from bohsense.edge.errors import ConfigError

    (creds / "broker-password").write_text("gw-store-1\n")
    with pytest.raises(ConfigError) as weak:
        load_settings(cfg, env=env)
    assert "broker.password is too weak" in str(weak.value)
    assert "gw-store-1" not in str(weak.value)

    # a credential the gateway does not know is a configuration error, not ignored
    from bohsense.cli import main

    (creds / "broker-password").unlink()
    (creds / "broker-pasword").write_text(STRONG)
    for name in [k for k in os.environ if k.startswith("BOHSENSE_EDGE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert main(["edge", "run", "--config", str(cfg)]) == 78
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0, err
    assert "credential 'broker-pasword'" in err
    assert "known: broker-password" in err
    assert STRONG not in err


async def test_the_watchdog_goes_quiet_while_the_outbox_hangs_and_resumes_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A stuck disk (the outbox's writer thread blocked) stops the pings, so systemd would
    restart the gateway after ``WatchdogSec``; the pings come back once the thread answers."""
    import asyncio
    import logging
    import threading

    from bohsense.contracts.sdnotify import Notifier
    from bohsense.edge.agent import EdgeAgent
    from bohsense.edge.settings import load_settings

    cfg = _config(tmp_path, "mqtt://127.0.0.1:1")  # no broker: the gateway runs offline
    settings = load_settings(cfg, env={})
    sock = NotifySocket(tmp_path)
    agent = EdgeAgent(settings, notifier=Notifier(sock.address, WATCHDOG_USEC))
    run = asyncio.create_task(agent.run())
    try:
        with caplog.at_level(logging.ERROR):
            async with asyncio.timeout(20):
                await agent.started.wait()
                while sum(m.get("WATCHDOG") == "1" for _, m in sock.snapshot()) < 3:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                assert agent.outbox is not None
                stuck = threading.Event()
                agent.outbox._pool.submit(stuck.wait)  # the disk stops answering
                await asyncio.sleep(0.3)  # a ping already under way may still land
                quiet_from = len(sock.snapshot())
                await asyncio.sleep(1.2)
                late = [m for _, m in sock.snapshot()[quiet_from:] if m.get("WATCHDOG") == "1"]
                assert late == [], "pinged while the outbox hung"
                assert any("the outbox did not answer" in r.getMessage() for r in caplog.records)
                stuck.set()
                resumed_from = len(sock.snapshot())
                while not any(m.get("WATCHDOG") == "1" for _, m in sock.snapshot()[resumed_from:]):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                agent.stop()
                await run
    finally:
        if not run.done():
            agent.stop()
            await asyncio.wait_for(run, 20)
        sock.close()
