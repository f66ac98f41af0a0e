"""A clustered broker losing the node the gateway is connected to.

Three broker nodes on loopback, started by the test (``tests/faults/_clusters.py``): the
gateway (a child process, the demo store's serial shelf and sensor on pseudo-terminals)
connects to node A and lists B and C in ``broker.hosts``; the cloud service connects to
node B. While readings flow, node A is SIGKILLed: the gateway goes on to the next node,
its persistent session (the cluster's, replicated) keeps its subscriptions, and the
outbox resends whatever the dead node held unacknowledged. Every reading is stored, no
batch is applied twice, and the time from the kill until everything produced before it
is stored is the recovery time.

Neither NATS 2.9 nor RabbitMQ 3.10 has shared subscriptions or MQTT 5 (the probe test
shows it), so the cloud is one worker on MQTT 3.1.1 without a shared group: the point
here is the loss of a node. Both brokers run with ``-m long`` (RabbitMQ is the one
docs/reliability.md recommends of the two; its figures and NATS's are there);
``tests/faults/_probe.py`` checks what each broker supports, on the cluster itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.faults._cloud_faults import recovered_after, score, settled_stats
from tests.faults._clusters import NatsCluster, Node, RabbitCluster
from tests.faults._probe import probe
from tests.faults.test_cloud_worker_kill import applied_seqs
from tests.support.services import InfluxDB
from tests.system.harness import StoreSystem, wait_for

Cluster = NatsCluster | RabbitCluster

#: a synthetic load on the store's gateway beside its devices: 5,000 readings/s for 12 s,
#: so batches are in flight when the node dies
LOAD, LOAD_DEVICES, LOAD_HZ, LOAD_S = "load", 20, 250, 12

#: what each broker does of bohsense's needs, as the probe finds it on a 3-node cluster
SUPPORTS = {
    "nats": {
        "QoS 1 across nodes": True,
        "persistent session (clean_session=False)": True,
        "retained messages": True,
        "retained messages (same node)": True,
        "last will": True,
        "shared subscriptions ($share)": False,
        "MQTT 5": False,
    },
    "rabbitmq": {
        "QoS 1 across nodes": True,
        "persistent session (clean_session=False)": True,
        "retained messages": False,  # 3.10 keeps them per node: a subscriber elsewhere misses them
        "retained messages (same node)": True,
        "last will": True,
        "shared subscriptions ($share)": False,
        "MQTT 5": False,
    },
}


def _cluster(kind: str, workdir: Path) -> Cluster:
    return NatsCluster(workdir) if kind == "nats" else RabbitCluster(workdir)


class ClusterStore(StoreSystem):
    """The store system with the cloud on ``broker_url`` (node B) and the gateway on node A,
    B and C as its other nodes (``nodes``: A, B, C), set through the gateway's environment."""

    nodes: list[Node]

    def start_edge(self) -> None:
        a, *others = self.nodes
        self.start_edge_config()
        log = open(self.workdir / "edge.log", "ab")  # noqa: SIM115 - lives as long as the child
        self.edge = subprocess.Popen(
            [sys.executable, "-m", "bohsense", "edge", "run", "--config", str(self.workdir / "gateway.toml")],
            env={
                **os.environ,
                "BOHSENSE_EDGE_BROKER_URL": a.url,
                "BOHSENSE_EDGE_BROKER_HOSTS": ",".join(n.address for n in others),
            },
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )

    def start_edge_config(self) -> None:
        """The demo store's config and, beside it, a synthetic load on the same gateway."""
        with open(self.workdir / "gateway.toml", "a", encoding="utf-8") as f:
            f.write(
                f'\n[[devices]]\nname = "{LOAD}"\nkind = "synthetic"\ndevices = {LOAD_DEVICES}\n'
                f'metrics = ["value"]\nrate_hz = {LOAD_HZ}\nlimit = {LOAD_HZ * LOAD_S}\n'
            )

    def final_counters(self) -> dict[str, Any]:
        """The counters of the gateway's ``edge agent stopped`` record (after SIGTERM)."""
        for line in reversed((self.workdir / "edge.log").read_text(errors="replace").splitlines()):
            if '"edge agent stopped"' in line:
                return dict(json.loads(line))
        raise AssertionError("the gateway logged no 'edge agent stopped' record")

    def connections(self) -> list[dict[str, Any]]:
        """The gateway's ``connected to broker`` log records, in order."""
        out = []
        for line in (self.workdir / "edge.log").read_text(errors="replace").splitlines():
            if '"connected to broker"' in line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out


def _load_stored(s: StoreSystem) -> int:
    return sum(n for (device, _), n in s.stored().items() if device.startswith(f"{LOAD}-"))


async def _node_loss(kind: str, hang_s: float, tmp_path: Path, influxdb: InfluxDB) -> None:
    cluster = _cluster(kind, tmp_path / kind)
    t0 = time.monotonic()
    await asyncio.to_thread(cluster.start)
    started_s = time.monotonic() - t0
    a, b, c = cluster.nodes
    s = ClusterStore(
        tmp_path,
        b.url,  # the cloud's node
        influxdb,
        f"sqlite:///{tmp_path / 'boh.sqlite3'}",
        duration_s=20,
        settings={"mqtt_protocol": 4},  # neither broker speaks MQTT 5
    )
    s.nodes = [a, b, c]
    load_produced = LOAD_DEVICES * LOAD_HZ * LOAD_S
    try:
        await s.start()
        first = await wait_for(s.connections, limit_s=30, what="the gateway to connect to node A")
        assert first[-1].get("broker") == a.url, f"the gateway is on node A first: {first}"
        s.play()
        await asyncio.sleep(4)
        assert sum(s.stored().values()) > 0, "readings flow before the fault"
        if hang_s:
            a.freeze()  # batches go on being handed to it, none is acknowledged
            await asyncio.sleep(hang_s)
        killed = time.monotonic()
        a.kill()
        await wait_for(lambda: len(s.connections()) > len(first), limit_s=60,
                       what="the gateway to connect to another node", every_s=0.05)  # fmt: skip
        reconnect_s = time.monotonic() - killed
        after = s.connections()[-1]
        recover_s = await recovered_after(s, killed, limit_s=120)
        await asyncio.sleep(4)  # readings flow through the surviving nodes
        s.pause()
        stored = await s.drain(limit_s=90)
        await wait_for(lambda: _load_stored(s) >= load_produced, limit_s=90,
                       what=f"the {load_produced} synthetic readings stored", every_s=0.5)  # fmt: skip
        stats = await settled_stats(s)
        seqs = applied_seqs(tmp_path / "boh.sqlite3", s.gateway)
        assert s.stop_edge() == 0, "the gateway stops cleanly"
        edge = s.final_counters()
        stored = s.stored()
    finally:
        await s.close()
        await asyncio.to_thread(cluster.stop)
    store_series = {k: v for k, v in stored.items() if not k[0].startswith(f"{LOAD}-")}
    load_stored = sum(v for k, v in stored.items() if k[0].startswith(f"{LOAD}-"))
    # the store's readings are applied to the BOH core (applied twice: beyond the distinct points
    # InfluxDB holds); the synthetic ones are not in the catalog: only stored
    how = f"hung {hang_s:g} s, then SIGKILLed" if hang_s else "SIGKILLed"
    fig = score(s, f"broker node loss ({kind}, 3 nodes): the gateway's node {how}", recover_s,
                store_series, int(stats["readings_applied"]))  # fmt: skip
    fig.applied_twice -= load_stored  # applied too (the gateway is in the catalog), not in store_series
    fig.produced += load_produced
    fig.stored += min(load_stored, load_produced)
    fig.lost += max(0, load_produced - load_stored)
    fig.extra = {
        "broker": kind,
        "cluster_start_s": round(started_s, 1),
        "reconnect_s": round(reconnect_s, 2),
        "from": a.url,
        "to": after.get("broker"),
        "session_present": after.get("session_present"),
        "store_readings": fig.produced - load_produced,
        "synthetic_readings": load_produced,
        "synthetic_stored": load_stored,
        "gateway_batches": edge.get("batches"),
        "gateway_sent": edge.get("sent"),
        "gateway_published": edge.get("published"),
        "gateway_reconnects": edge.get("reconnects"),
        "gateway_outbox_left": edge.get("outbox_depth"),
        "batches_applied": stats["batches_applied"],
        "seqs_applied": seqs,
        "duplicates_dropped": stats["duplicates"],
        "cloud_reconnects": stats["reconnects"],
        "quarantined": stats["quarantined"],
    }
    fig.report()
    assert after.get("broker") in (b.url, c.url), fig
    assert after.get("session_present") is True, f"the session is the cluster's, not node A's: {fig}"
    assert fig.lost == 0, fig
    assert fig.applied_twice == 0, fig
    assert load_stored == load_produced, fig
    # every batch applied once: the BOH core's applied seqs are the worker's first applications,
    # and every batch the gateway made is among them but what it made after the drain (its
    # last, on stopping, left in its outbox)
    assert seqs == stats["batches_applied"], fig
    assert seqs + edge["outbox_depth"] == edge["batches"], fig
    assert stats["quarantined"] == 0, fig


@pytest.mark.long
@pytest.mark.parametrize("hang_s", [0, 2], ids=["killed", "hung-then-killed"])
@pytest.mark.parametrize("kind", ["nats", "rabbitmq"])
async def test_the_loop_survives_the_loss_of_the_gateways_broker_node(
    kind: str, hang_s: float, tmp_path: Path, influxdb: InfluxDB
) -> None:
    await _node_loss(kind, hang_s, tmp_path, influxdb)


@pytest.mark.long
@pytest.mark.parametrize("kind", ["nats", "rabbitmq"])
def test_what_each_clustered_broker_supports(kind: str, tmp_path: Path) -> None:
    cluster = _cluster(kind, tmp_path / kind)
    cluster.start()
    try:
        checks = probe([n.address for n in cluster.nodes])
    finally:
        cluster.stop()
    for check in checks:
        print(f"\nPROBE {kind}: {check.feature}: {'yes' if check.ok else 'no'} ({check.detail})")
    found = {check.feature: check.ok for check in checks}
    assert found == SUPPORTS[kind], [c for c in checks if SUPPORTS[kind].get(c.feature) != c.ok]
