"""``bohsense bench ingest``: the ingest worker against the simplest loop, same run.

1. Start Mosquitto and InfluxDB 1.x on free ports in a temporary directory.
2. Create the persistent sessions: the baseline's, and the worker's (one worker, a plain
   subscription) or, with ``workers``, N sessions per worker count N that share one MQTT 5
   shared subscription (``$share/benchN/…``). Then publish the workload once: the broker
   queues a copy for the baseline and one for each worker count, split among its N sessions.
3. Drain each in turn, every consumer in a process of its own: the baseline, then the
   worker(s), N processes started together. Each run is timed from its first message to
   its last stored reading.
4. Verify every run: the points in InfluxDB equal the readings sent; the batches the BOH
   core applied for the first time, summed over the workers, equal the batches sent; and
   the core's record of applied ``(gateway, seq)`` is exactly the seqs sent. Anything else
   fails the run (``NotExactlyOnce``).

``seconds`` sizes the workload: each phase runs about that long at ~250k readings/s.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bohsense.bench._workload import make_workload
from bohsense.bench.servers import InfluxServer, MosquittoServer
from bohsense.contracts.topics import ALL_READINGS, cloud_subscriptions, shared

__all__ = ["NotExactlyOnce", "run_ingest"]

PER_MESSAGE = 100
ASSUMED_RATE = 250_000


def _say(msg: str) -> None:
    print(f"[bench ingest] {msg}", file=sys.stderr, flush=True)


class NotExactlyOnce(RuntimeError):
    """A run lost a reading, stored or applied one twice: the benchmark's figures do not count."""


def _make_session(port: int, client_id: str, protocol: int, group: str | None = None) -> None:
    """Connect once with a persistent session and subscribe, so the broker queues for it
    (the baseline: readings only; a worker: its filters, through ``group`` when it shares)."""
    done = threading.Event()
    if protocol == 5:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        client.connect("127.0.0.1", port, clean_start=False, properties=props)
    else:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        client.connect("127.0.0.1", port)
    client.on_subscribe = lambda *_a: done.set()
    client.loop_start()
    filters = cloud_subscriptions() if protocol == 5 else [ALL_READINGS]
    if group:
        filters = [shared(group, f) for f in filters]
    client.subscribe([(f, 1) for f in filters])
    if not done.wait(10):
        raise RuntimeError("no SUBACK")
    client.disconnect()
    client.loop_stop()


def _publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    acked = threading.Semaphore(0)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_queued_messages_set(0)
    client.on_publish = lambda *_a: acked.release()
    client.connect("127.0.0.1", port)
    client.loop_start()
    window = 2000
    for i, (topic, payload) in enumerate(messages):
        if i >= window:
            acked.acquire()  # bound what paho holds unacknowledged (its packet ids wrap at 65,535)
        client.publish(topic, payload, qos=1)
    for _ in range(min(window, len(messages))):
        if not acked.acquire(timeout=60):
            raise RuntimeError("publisher: broker stopped acknowledging")
    client.disconnect()
    client.loop_stop()


def _consume(argv: list[str], timeout: float) -> dict[str, Any]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[2]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _baseline_argv(port: int, client_id: str, influx: InfluxServer, db: str, readings: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bohsense.bench._baseline",
        str(port),
        client_id,
        influx.url,
        db,
        str(readings),
    ]


def _worker_argv(
    broker: MosquittoServer,
    client_id: str,
    influx: InfluxServer,
    db: str,
    boh_url: str,
    applier: str,
    protocol: int,
    group: str | None,
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bohsense.bench._worker_run",
        broker.url,
        client_id,
        influx.url,
        db,
        boh_url,
        applier,
        str(protocol),
        group or "",
    ]


@dataclass
class _Proc:
    """One worker process and what it said: ``ready``, its progress, its final JSON line."""

    proc: subprocess.Popen[str]
    stderr: IO[bytes]
    ready: threading.Event = field(default_factory=threading.Event)
    stored: int = 0
    pending: int = 0
    result: dict[str, Any] | None = None

    def read(self, changed: threading.Condition) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            with changed:
                if line == "ready":
                    self.ready.set()
                elif line.startswith("progress "):
                    _, stored, pending = line.split()
                    self.stored, self.pending = int(stored), int(pending)
                elif line.startswith("{"):
                    self.result = json.loads(line)
                changed.notify_all()
        with changed:
            changed.notify_all()

    def tell(self, word: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(word + "\n")
        self.proc.stdin.flush()

    def failure(self) -> str:
        self.stderr.seek(0)
        return f"worker exited with {self.proc.returncode}:\n{self.stderr.read().decode()[-3000:]}"


def _drain(argvs: Sequence[list[str]], readings: int, timeout: float) -> list[dict[str, Any]]:
    """Run the workers of ``argvs`` together until ``readings`` are stored and every message
    acknowledged; the final JSON of each."""
    changed = threading.Condition()
    procs: list[_Proc] = []
    try:
        for argv in argvs:
            err = tempfile.TemporaryFile()  # noqa: SIM115 - closed with its process, below
            proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True
            )
            procs.append(_Proc(proc, err))
            threading.Thread(target=procs[-1].read, args=(changed,), daemon=True).start()
        for p in procs:
            while not p.ready.wait(0.1):
                if p.proc.poll() is not None:
                    raise RuntimeError(p.failure())
        for p in procs:
            p.tell("go")
        deadline = time.monotonic() + timeout
        with changed:
            while sum(p.stored for p in procs) < readings or any(p.pending for p in procs):
                for p in procs:
                    if p.proc.poll() is not None:
                        raise RuntimeError(p.failure())
                if time.monotonic() > deadline:
                    got = sum(p.stored for p in procs)
                    raise NotExactlyOnce(f"{got:,} of {readings:,} readings stored after {timeout:.0f} s")
                changed.wait(0.1)
        for p in procs:
            p.tell("stop")
        for p in procs:
            if p.proc.wait(60) != 0:
                raise RuntimeError(p.failure())
        out = []
        for p in procs:
            deadline = time.monotonic() + 5
            while p.result is None and time.monotonic() < deadline:  # the reader thread's last line
                time.sleep(0.01)
            if p.result is None:
                raise RuntimeError("worker printed no result\n" + p.failure())
            out.append(p.result)
        return out
    finally:
        for p in procs:
            if p.proc.poll() is None:
                p.proc.kill()
                p.proc.wait()
            p.stderr.close()


def _expected_seqs(n_messages: int, gateways: int, first_seq: int) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for m in range(n_messages):
        out.setdefault(f"bench-gw-{m % gateways:03d}", set()).add(m // gateways + first_seq)
    return out


def _applied_seqs(boh_db: Path) -> dict[str, set[int]]:
    """The ``(gateway, seq)`` the BOH core has applied: every seq up to each gateway's
    watermark, and the ones above it it recorded (read from its SQLite file)."""
    with sqlite3.connect(boh_db) as conn:
        marks = dict(conn.execute("SELECT id, watermark FROM gateways"))
        above = list(conn.execute("SELECT gateway, seq FROM ingest_seq"))
    out = {gw: set(range(1, wm + 1)) for gw, wm in marks.items()}
    for gw, seq in above:
        out.setdefault(gw, set()).add(seq)
    return {gw: seqs for gw, seqs in out.items() if seqs}


def _verify(
    who: str,
    results: list[dict[str, Any]],
    points: int,
    readings: int,
    n_messages: int,
    boh_db: Path | None,
    expected: dict[str, set[int]],
) -> None:
    """Every reading stored once and every batch applied once, or ``NotExactlyOnce``."""
    problems = []
    if points != readings:
        problems.append(f"sent {readings:,} readings, InfluxDB holds {points:,}")
    applied = sum(r["stats"]["batches_applied"] for r in results)
    if applied != n_messages:
        problems.append(f"sent {n_messages:,} batches, the BOH core applied {applied:,} for the first time")
    if boh_db is not None:
        found = _applied_seqs(boh_db)
        if found != expected:
            missing = sum(len(s - found.get(gw, set())) for gw, s in expected.items())
            extra = sum(len(s - expected.get(gw, set())) for gw, s in found.items())
            problems.append(f"the BOH core's applied seqs: {missing} sent but not applied, {extra} not sent")
    if problems:
        raise NotExactlyOnce(f"{who}: " + "; ".join(problems))


def _combine(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One run of N workers: readings/s over the span from the first worker's first message
    to the last worker's last stored reading; CPU per worker."""
    active = [r for r in results if r["readings"]]
    span = max(r["last"] for r in active) - min(r["first"] for r in active)
    total = sum(r["readings"] for r in results)
    return {
        "readings": total,
        "seconds": span,
        "readings_per_s": total / span,
        "cpu_s": sum(r["cpu_s"] for r in results),
        "per_worker": [
            {"readings": r["readings"], "cpu_s": r["cpu_s"], "duplicates": r["stats"]["duplicates"]}
            for r in results
        ],
        "applier": results[0]["applier"],
        "stats": results[0]["stats"],
        "duplicates": sum(r["stats"]["duplicates"] for r in results),
    }


def _cpu_per_million(cpu_s: float, readings: float) -> float:
    return round(cpu_s / readings * 1e6, 2) if readings else 0.0


def _cpu_ratio(baseline: list[float], worker: list[float]) -> float:
    """Baseline CPU per reading over the worker's (totals: readings, seconds, CPU seconds)."""
    if not (baseline[0] and worker[0] and worker[2]):
        return 0.0
    return round((baseline[2] / baseline[0]) / (worker[2] / worker[0]), 3)


def run_ingest(
    seconds: float,
    applier: str = "auto",
    mqtt_protocol: int = 5,
    rounds: int = 3,
    workers: Sequence[int] = (),
) -> dict[str, Any]:
    """``rounds`` rounds, each a fresh workload drained by every consumer in rotating order
    (so drift and neighbours' load hit all alike); rates are totals over the rounds.

    Without ``workers``: the baseline against one worker on a plain subscription (the
    one-worker ratio). With ``workers`` (e.g. ``(1, 2, 3)``): the baseline and, for each
    count N, N worker processes on one shared subscription and one BOH database."""
    if workers and mqtt_protocol != 5:
        raise ValueError("several workers share a subscription, which needs MQTT 5")
    if workers and applier == "memory":
        raise ValueError("the in-memory applier is one per process: several workers need the BOH core")
    gateways = 20
    # whole messages per gateway, so each gateway's seqs go on without a gap from round to round
    unit = PER_MESSAGE * gateways
    per_round = max(10_000, int(seconds * ASSUMED_RATE / rounds)) // unit * unit
    n_messages = per_round // PER_MESSAGE
    runs = [f"workers_{n}" for n in workers] if workers else ["worker"]
    counts = {name: (n if workers else 1) for name, n in zip(runs, workers or (1,), strict=True)}
    totals = {name: [0, 0.0, 0.0] for name in ["baseline", *runs]}  # readings, seconds, cpu seconds
    ratios: dict[str, list[float]] = {name: [] for name in runs}
    duplicates = dict.fromkeys(runs, 0)
    per_worker: dict[str, list[list[float]]] = {
        name: [[0, 0.0] for _ in range(counts[name])] for name in runs
    }
    last: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bohsense-bench-") as tmp:
        work = Path(tmp)
        broker = MosquittoServer(work / "mosquitto").start()
        influx = InfluxServer(work / "influx").start()
        try:
            _say(
                f"mosquitto on {broker.port}, influxdb on {influx.port}; {rounds} rounds of {per_round:,} readings"
            )
            base_id = "bench-baseline"
            _make_session(broker.port, base_id, 4)
            ids: dict[str, list[str]] = {}
            groups: dict[str, str | None] = {}
            for name in runs:
                n = counts[name]
                groups[name] = f"bench{n}" if workers else None
                ids[name] = [f"bench-w{n}-{i}" for i in range(n)] if workers else ["bench-worker"]
                for cid in ids[name]:
                    _make_session(broker.port, cid, mqtt_protocol, groups[name])
            boh_files = {name: work / f"boh-{name}.db" for name in runs}
            limit = max(120.0, seconds * 15)
            expected: dict[str, set[int]] = {}
            for rnd in range(rounds):
                first_seq = rnd * (n_messages // gateways) + 1
                workload = make_workload(
                    n_messages, per_message=PER_MESSAGE, gateways=gateways, first_seq=first_seq
                )
                for gw, seqs in _expected_seqs(n_messages, gateways, first_seq).items():
                    expected.setdefault(gw, set()).update(seqs)
                t = time.perf_counter()
                _publish(broker.port, workload)
                del workload
                _say(f"round {rnd + 1}: {n_messages} messages published in {time.perf_counter() - t:.1f} s")
                order = ["baseline", *runs]
                shift = rnd % len(order)
                order = order[shift:] + order[:shift]
                rates: dict[str, float] = {}
                for who in order:
                    db = influx.create_database(f"{who}_{rnd}")
                    if who == "baseline":
                        res = _consume(_baseline_argv(broker.port, base_id, influx, db, per_round), limit)
                        _verify(who, [{"stats": {"batches_applied": n_messages}}], influx.count(db),
                                per_round, n_messages, None, expected)  # fmt: skip
                        cpu = res["cpu_s"]
                    else:
                        boh_url = f"sqlite:///{boh_files[who]}"
                        argvs = [
                            _worker_argv(
                                broker, cid, influx, db, boh_url, applier, mqtt_protocol, groups[who]
                            )
                            for cid in ids[who]
                        ]
                        results = _drain(argvs, per_round, limit)
                        is_boh = results[0]["applier"] == "BOH core on SQLite"
                        _verify(who, results, influx.count(db), per_round, n_messages,
                                boh_files[who] if is_boh else None, expected)  # fmt: skip
                        res = _combine(results)
                        cpu = res["cpu_s"]
                        duplicates[who] += res["duplicates"]
                        for i, pw in enumerate(res["per_worker"]):
                            per_worker[who][i][0] += pw["readings"]
                            per_worker[who][i][1] += pw["cpu_s"]
                        last[who] = res
                    totals[who][0] += res["readings"]
                    totals[who][1] += res["seconds"]
                    totals[who][2] += cpu
                    rates[who] = res["readings_per_s"]
                    _say(f"round {rnd + 1}: {who}: {res['readings_per_s']:,.0f} readings/s (verified)")
                for name in runs:
                    ratios[name].append(rates[name] / rates["baseline"])
        finally:
            broker.stop()
            influx.stop()
    base_rate = totals["baseline"][0] / totals["baseline"][1]
    applier_name = last[runs[0]]["applier"]
    _say(f"applier: {applier_name}; worker MQTT {'5' if mqtt_protocol == 5 else '3.1.1'}")
    base_cpu = _cpu_per_million(totals["baseline"][2], totals["baseline"][0])
    common = {
        "baseline_readings_per_s": round(base_rate),
        "baseline_cpu_s_per_1m_readings": base_cpu,
        "rounds": rounds,
        "readings": per_round * rounds,
        "readings_per_message": PER_MESSAGE,
        "baseline_seconds": round(totals["baseline"][1], 2),
        "points_verified": True,
        "exactly_once_verified": True,
        "applier": applier_name,
        "worker_mqtt": "5" if mqtt_protocol == 5 else "3.1.1",
        "baseline_mqtt": "3.1.1",
    }
    if not workers:
        rate = totals["worker"][0] / totals["worker"][1]
        stats = last["worker"]["stats"]
        return {
            "readings_per_s": round(rate),
            "ratio": round(rate / base_rate, 3),
            "round_ratios": [round(r, 3) for r in ratios["worker"]],
            "worker_seconds": round(totals["worker"][1], 2),
            "worker_cpu_s_per_1m_readings": _cpu_per_million(totals["worker"][2], totals["worker"][0]),
            # CPU per reading, baseline over worker: what the ratio would be with a core each
            "cpu_ratio": _cpu_ratio(totals["baseline"], totals["worker"]),
            **common,
            "worker_last_round": {
                k: stats[k]
                for k in (
                    "commits",
                    "batches_applied",
                    "duplicates",
                    "quarantined",
                    "acks_published",
                    "storage_retries",
                )
            },
        }
    sweep: dict[str, Any] = {}
    for name in runs:
        stored, secs, cpu = totals[name]
        rate = stored / secs
        sweep[name] = {
            "workers": counts[name],
            "readings_per_s": round(rate),
            "ratio": round(rate / base_rate, 3),
            "round_ratios": [round(r, 3) for r in ratios[name]],
            "seconds": round(secs, 2),
            "cpu_s_per_1m_readings": _cpu_per_million(cpu, int(stored)),
            "cpu_ratio": _cpu_ratio(totals["baseline"], totals[name]),
            "per_worker": [
                {"readings": int(r), "cpu_s_per_1m_readings": _cpu_per_million(c, int(r))}
                for r, c in per_worker[name]
            ],
            "duplicates_dropped": duplicates[name],
        }
        _say(
            f"{counts[name]} worker(s): {rate:,.0f} readings/s, "
            f"{sweep[name]['cpu_s_per_1m_readings']} CPU s per 1M readings"
        )
    return {**common, "sweep": sweep}
