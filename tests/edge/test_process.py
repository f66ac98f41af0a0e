"""The edge agent as its own process (``python -m bohsense edge run``): signals and kill -9."""

from __future__ import annotations

import collections
import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.edge.conftest import Cloud, gateway_id, synthetic, wait_for, write_config
from tests.support.services import Mosquitto


class Agents:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, cfg: Path) -> subprocess.Popen[bytes]:
        log = open(self.tmp_path / f"agent-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "bohsense", "edge", "run", "--config", str(cfg)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def log(self, i: int) -> str:
        return (self.tmp_path / f"agent-{i}.log").read_text()

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[Agents]:
    a = Agents(tmp_path)
    yield a
    a.stop_all()


def outbox_rows(path: Path) -> tuple[int, dict[int, int]]:
    """``(next_seq, {seq: readings})`` read from an outbox no process holds."""
    db = sqlite3.connect(path)
    try:
        next_seq = db.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()[0]
        rows = dict(db.execute("SELECT seq, readings FROM entries").fetchall())
    finally:
        db.close()
    return int(next_seq), {int(k): int(v) for k, v in rows.items()}


def test_sigterm_publishes_offline_and_exits_0(
    mosquitto: Mosquitto, cloud_factory: Callable[..., Cloud], agents: Agents, tmp_path: Path
) -> None:
    gw = gateway_id("proc")
    cloud = cloud_factory(mosquitto.url, gw)
    cfg = write_config(
        tmp_path / "gw.toml",
        gw,
        mosquitto.url,
        tmp_path / "outbox.sqlite3",
        extra='log_format = "json"',
        devices=synthetic(rate_hz=20),
    )
    proc = agents.start(cfg)
    wait_for(lambda: "online" in cloud.states() and cloud.seqs(), 15, "birth and first batch")
    wait_for(lambda: '"edge status"' in agents.log(0), 5, "a status log line")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0, agents.log(0)
    wait_for(lambda: cloud.states()[-1:] == ["offline"], 5, "offline status")
    assert "lost" not in cloud.states()
    offline = cloud.statuses[-1]
    next_seq, rows = outbox_rows(tmp_path / "outbox.sqlite3")
    assert offline.next_seq == next_seq, "the goodbye carries the final counters"
    assert offline.outbox_depth == len(rows)
    lines = [json.loads(line) for line in agents.log(0).splitlines()]
    connected = next(line for line in lines if line["msg"] == "connected to broker")
    assert connected["broker"] == mosquitto.url  # where it connects, named in the log
    status = next(line for line in lines if line["msg"] == "edge status")
    assert {
        "readings_in",
        "batches",
        "outbox_depth",
        "published",
        "acked",
        "dropped_readings",
        "reconnects",
    } <= set(status)
    stopped = lines[-1]
    assert stopped["msg"] == "edge agent stopped"
    assert stopped["next_seq"] == next_seq


def test_kill_9_fires_the_last_will(
    mosquitto: Mosquitto, cloud_factory: Callable[..., Cloud], agents: Agents, tmp_path: Path
) -> None:
    gw = gateway_id("will")
    cloud = cloud_factory(mosquitto.url, gw)
    cfg = write_config(
        tmp_path / "gw.toml", gw, mosquitto.url, tmp_path / "outbox.sqlite3", devices=synthetic(rate_hz=20)
    )
    proc = agents.start(cfg)
    wait_for(lambda: "online" in cloud.states(), 15, "birth")
    proc.kill()
    proc.wait(10)
    wait_for(lambda: cloud.states()[-1:] == ["lost"], 10, "the last will")
    assert "offline" not in cloud.states()
    assert cloud.statuses[-1].gateway == gw


def test_kill_9_and_restart_loses_nothing_that_entered_the_outbox(
    mosquitto: Mosquitto, cloud_factory: Callable[..., Cloud], agents: Agents, tmp_path: Path
) -> None:
    gw = gateway_id("kill")
    cloud = cloud_factory(mosquitto.url, gw)  # no acks: the outbox keeps every entry to compare
    outbox = tmp_path / "outbox.sqlite3"
    cfg = write_config(
        tmp_path / "gw.toml", gw, mosquitto.url, outbox, devices=synthetic(devices=8, rate_hz=100)
    )
    first = agents.start(cfg)
    wait_for(lambda: len(cloud.seqs()) >= 10, 15, "batches from the first run")
    first.kill()
    first.wait(10)
    killed_next_seq, killed_rows = outbox_rows(outbox)
    assert killed_rows, "the killed agent left entries in its outbox"
    assert sorted(killed_rows) == list(range(1, killed_next_seq)), "committed entries have no gap"

    second = agents.start(cfg)
    wait_for(
        lambda: set(range(1, killed_next_seq + 5)) <= set(cloud.seqs()),
        15,
        "every entry of the killed run, then new ones",
    )
    second.send_signal(signal.SIGTERM)
    assert second.wait(15) == 0, agents.log(1)
    final_next_seq, rows = outbox_rows(outbox)
    wait_for(lambda: cloud.seqs() == list(range(1, final_next_seq)), 5, "the last batches")
    assert final_next_seq > killed_next_seq
    with cloud.lock:
        received = {seq: len(b.readings) for seq, b in cloud.batches.items()}
        keys = collections.Counter(
            (r.device, r.metric, r.ts) for b in cloud.batches.values() for r in b.readings
        )
    assert received == rows, "every batch in the outbox arrived with all its readings"
    assert max(keys.values()) == 1, "no reading twice after dedup by (gateway, seq)"
    assert sum(received.values()) == len(keys)


def test_a_second_agent_on_the_same_outbox_refuses_to_start(
    mosquitto: Mosquitto, cloud_factory: Callable[..., Cloud], agents: Agents, tmp_path: Path
) -> None:
    gw = gateway_id("twice")
    cloud = cloud_factory(mosquitto.url, gw)
    cfg = write_config(
        tmp_path / "gw.toml", gw, mosquitto.url, tmp_path / "outbox.sqlite3", devices=synthetic(rate_hz=20)
    )
    agents.start(cfg)
    wait_for(lambda: "online" in cloud.states(), 15, "the first agent online")
    second = agents.start(cfg)
    assert second.wait(15) == 1
    assert "in use by another process" in agents.log(1)
    assert agents.procs[0].poll() is None, "the first agent keeps running"


def test_sighup_rereads_the_config_and_keeps_running(
    mosquitto: Mosquitto, cloud_factory: Callable[..., Cloud], agents: Agents, tmp_path: Path
) -> None:
    gw = gateway_id("hup")
    cloud = cloud_factory(mosquitto.url, gw)
    outbox = tmp_path / "outbox.sqlite3"

    def config(extra: str, rate: float = 20) -> Path:
        return write_config(
            tmp_path / "gw.toml", gw, mosquitto.url, outbox, extra=extra, devices=synthetic(rate_hz=rate)
        )

    cfg = config("")
    proc = agents.start(cfg)
    wait_for(lambda: "online" in cloud.states() and cloud.seqs(), 15, "birth and first batch")
    # the log format applies at once
    config('log_format = "json"')
    proc.send_signal(signal.SIGHUP)
    wait_for(lambda: '"msg": "reload: configuration read, log_format applied"' in agents.log(0), 10, "reload")
    # an invalid file changes nothing and is said
    (tmp_path / "gw.toml").write_text("gateway_id = [")
    proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload: configuration not changed" in agents.log(0), 10, "invalid reload")
    # a device change needs a restart, and says so
    config('log_format = "json"', rate=5)
    proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "devices changed and take(s) effect at restart" in agents.log(0), 10, "restart notice")
    seqs = len(cloud.seqs())
    wait_for(lambda: len(cloud.seqs()) > seqs, 10, "batches still flowing")
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0, agents.log(0)
    assert "Traceback" not in agents.log(0)


def test_the_gateway_serves_prometheus_metrics_when_asked(
    mosquitto: Mosquitto, cloud_factory: Callable[..., Cloud], agents: Agents, tmp_path: Path
) -> None:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    from tests.support.services import free_port

    gw = gateway_id("metrics")
    cloud = cloud_factory(mosquitto.url, gw)
    port = free_port()
    cfg = write_config(
        tmp_path / "gw.toml",
        gw,
        mosquitto.url,
        tmp_path / "outbox.sqlite3",
        extra=f'[metrics]\nlisten = "127.0.0.1:{port}"',
        devices=synthetic(rate_hz=20),
    )
    proc = agents.start(cfg)
    wait_for(lambda: "online" in cloud.states() and len(cloud.seqs()) >= 2, 15, "batches acknowledged")
    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert answer.status_code == 200
    values = {}
    families = list(text_string_to_metric_families(answer.text))
    names = [family.name for family in families]
    assert len(names) == len(set(names)), names  # one family per name: a valid exposition
    for family in families:
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = (family.type, s.value)
    assert values[("bohsense_edge_readings_in_total", ())][1] > 0
    assert values[("bohsense_edge_batches_total", ())][1] >= 2
    assert values[("bohsense_edge_outbox_depth", ())][0] == "gauge"
    assert values[("bohsense_edge_connected", ())] == ("gauge", 1.0)
    assert values[("bohsense_edge_outbox_oldest_age_s", ())][0] == "gauge"
    assert any(
        name.startswith("bohsense_edge_driver_") and dict(labels).get("device") == "syn"
        for name, labels in values
    )
    assert httpx.get(f"http://127.0.0.1:{port}/other", timeout=10).status_code == 404
    assert httpx.post(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 405
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0, agents.log(0)
