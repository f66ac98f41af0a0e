"""The benchmarks run end to end and print a sane JSON line (speed is not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bohsense.bench._ingest import NotExactlyOnce, _verify
from bohsense.bench._memory import MemoryApplier
from bohsense.bench._workload import make_workload
from bohsense.contracts.codec import decode_batch

ROOT = Path(__file__).parents[2]


def run_cli(*args: str) -> tuple[dict[str, Any], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "bohsense", *args], capture_output=True, text=True, cwd=ROOT, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    return json.loads(last), proc.stderr


def test_ingest_bench_end_to_end() -> None:
    out, err = run_cli("bench", "ingest", "--seconds", "0.2", "--rounds", "2")
    assert (out["rounds"], out["readings"], out["points_verified"]) == (2, 48_000, True)
    assert out["exactly_once_verified"] is True
    for key in ("readings_per_s", "baseline_readings_per_s"):
        assert isinstance(out[key], int)
        assert out[key] > 0
    assert out["ratio"] == round(out["readings_per_s"] / out["baseline_readings_per_s"], 3)
    assert isinstance(out["round_ratios"], list)
    assert len(out["round_ratios"]) == 2
    assert out["worker_cpu_s_per_1m_readings"] > 0
    assert out["applier"] == "BOH core on SQLite"
    last = out["worker_last_round"]
    assert isinstance(last, dict)
    # round 2 continues each gateway's seqs: every one of its batches applied once, none
    # mistaken for a duplicate. Round 1's worker is stopped only once it has acknowledged
    # everything; should the broker still send round 2's worker a message again (a PUBACK
    # lost with a connection on a loaded machine), it is a duplicate, counted and not applied
    assert (last["batches_applied"], last["quarantined"]) == (240, 0)
    assert last["duplicates"] <= 240
    assert "round 2: baseline:" in err
    assert "round 2: worker:" in err


def test_ingest_bench_with_two_workers_on_a_shared_subscription() -> None:
    out, err = run_cli("bench", "ingest", "--seconds", "0.1", "--rounds", "1", "--workers", "2")
    assert (out["readings"], out["points_verified"], out["exactly_once_verified"]) == (24_000, True, True)
    run = out["sweep"]["workers_2"]
    assert run["workers"] == 2
    assert run["readings_per_s"] > 0
    assert run["ratio"] == round(run["readings_per_s"] / out["baseline_readings_per_s"], 3)
    assert run["duplicates_dropped"] <= 240  # redelivered, counted, not applied (verified above)
    shares = [w["readings"] for w in run["per_worker"]]
    assert sum(shares) == 24_000
    assert all(s > 0 for s in shares), "the broker split the shared subscription between both workers"
    assert all(w["cpu_s_per_1m_readings"] > 0 for w in run["per_worker"])
    assert "2 worker(s):" in err


def test_ingest_bench_refuses_a_bad_worker_count() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bohsense", "bench", "ingest", "--workers", "2,x"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "--workers: not a list of counts" in proc.stderr


def _worker_result(applied: int) -> dict[str, Any]:
    return {"stats": {"batches_applied": applied}}


def test_ingest_bench_verification_fails_loudly_on_loss_or_double_apply(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "boh.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE gateways (id TEXT, watermark INTEGER)")
        conn.execute("CREATE TABLE ingest_seq (gateway TEXT, seq INTEGER)")
        conn.execute("INSERT INTO gateways VALUES ('gw-a', 3)")
        conn.execute("INSERT INTO ingest_seq VALUES ('gw-a', 5)")
    sent = {"gw-a": {1, 2, 3, 5}}
    _verify("ok", [_worker_result(3), _worker_result(1)], 400, 400, 4, db, sent)  # 1-3 and 5: right
    with pytest.raises(NotExactlyOnce, match="InfluxDB holds 399"):
        _verify("w", [_worker_result(4)], 399, 400, 4, db, sent)
    with pytest.raises(NotExactlyOnce, match="applied 5 for the first time"):
        _verify("w", [_worker_result(4), _worker_result(1)], 400, 400, 4, db, sent)
    with pytest.raises(NotExactlyOnce, match="1 sent but not applied"):
        _verify("w", [_worker_result(5)], 500, 500, 5, db, {"gw-a": {1, 2, 3, 4, 5}})


def test_codec_bench_compares_json_and_msgpack() -> None:
    out, _ = run_cli("bench", "codec", "--rounds", "20")
    js, mp = out["json"], out["msgpack"]
    assert isinstance(js, dict)
    assert isinstance(mp, dict)
    assert 0 < mp["bytes"] < js["bytes"]
    assert all(v > 0 for v in (js["encode_us"], js["decode_us"], mp["encode_us"], mp["decode_us"]))


@pytest.mark.long  # ~10 s; the ingest bench with the BOH core runs by default
def test_apply_bench_measures_the_boh_core_against_the_in_memory_baseline(pg_url: str) -> None:
    out, err = run_cli("bench", "apply", "--calls", "3")
    assert out["database"] == "sqlite"
    for workload in ("unmapped", "mapped_30pct"):
        figures = out[workload]
        assert figures["readings_per_s"] > 0
        assert figures["ratio"] == round(figures["readings_per_s"] / figures["baseline_readings_per_s"], 3)
        assert f"[bench apply] {workload}:" in err
    out, _ = run_cli("bench", "apply", "--calls", "3", "--database", pg_url)
    assert out["database"] == "postgresql+psycopg"
    assert out["unmapped"]["readings_per_s"] > 0


def test_workload_readings_are_distinct_points_with_gapless_seqs() -> None:
    msgs = make_workload(60, per_message=10, gateways=3)
    batches = [decode_batch(p) for _, p in msgs]
    points = {(b.gateway, r.device, r.metric, r.ts) for b in batches for r in b.readings}
    assert len(points) == 600
    for gw in {b.gateway for b in batches}:
        assert sorted(b.seq for b in batches if b.gateway == gw) == list(range(1, 21))
    assert all(topic.endswith(f"/{decode_batch(p).gateway}/readings") for topic, p in msgs)


def test_bench_memory_applier_dedups_and_moves_watermarks() -> None:
    a = MemoryApplier()
    batches = [decode_batch(p) for _, p in make_workload(4, per_message=2, gateways=1)]
    out = a.apply_batches([batches[0], batches[2], batches[0]])
    assert (out.applied, out.duplicates, dict(out.watermarks)) == (2, 1, {"bench-gw-000": 1})
    out = a.apply_batches([batches[1], batches[3]])
    assert dict(out.watermarks) == {"bench-gw-000": 4}


def test_llrp_bench_end_to_end() -> None:
    result, _err = run_cli("bench", "llrp", "--reports", "20", "--tags", "10", "--rounds", "1")
    assert result["reports"] == 20
    assert result["session_reads_per_s"] > 0
    assert result["readers_per_core"] == result["session_reads_per_s"] // 1500
    assert result["sllurp_decode_reads_per_s"] > 0  # sllurp is a dev dependency, so it is there


def test_features_bench_end_to_end() -> None:
    result, err = run_cli("bench", "features", "--blocks", "6", "--rounds", "1", "--block-every-s", "5")
    assert (result["blocks"], result["samples_per_block"], result["block_every_s"]) == (6, 8192, 5.0)
    for key in ("baseline_samples_per_s", "features_samples_per_s", "interpreter_samples_per_s"):
        assert result[key] > 0
    assert result["readings_per_block"] >= 19, "every feature of a block with a bearing configured"
    rate = result["interpreter_samples_per_s"]
    assert result["sensors_per_core_continuous"] == round(rate / 76_800, 1)
    assert result["sensors_per_core_at_duty"] == int(rate / (3 * 8192 / 5.0))
    assert "one core serves" in err


def test_replenish_bench_times_the_plan_against_seasonal_naive_in_the_same_run() -> None:
    out, err = run_cli(
        "bench",
        "replenish",
        "--items",
        "6",
        "--stores",
        "2",
        "--days",
        "120",
        "--rounds",
        "1",
        "--workers",
        "1,2",
    )
    assert (out["series"], out["stores"], out["mean_days_per_series"]) == (12, 2, 120.0)
    assert out["plan_series_per_s"] > 0
    assert out["snaive_series_per_s"] > 0
    assert out["plan_vs_snaive"] == round(out["plan_series_per_s"] / out["snaive_series_per_s"], 4)
    assert set(out["scaling"]) == {"processes_1", "processes_2"}
    assert "round 1: plan" in err


def test_replenish_bench_on_a_history_file_replicated(tmp_path: Path) -> None:
    from tests.models.demand import rows, write

    hist = write(tmp_path / "h.csv", rows(days=100, stores=("CA_1",)))
    out, _ = run_cli("bench", "replenish", "--history", str(hist), "--replicate", "3", "--rounds", "1")
    assert (out["series"], out["stores"]) == (6, 3)
    assert out["history_rows"] == 2 * 100  # two items of one store, before replication
    assert out["history_rows_per_cpu_s"] > 0
    assert "scaling" not in out


def test_every_documented_ingest_bench_command_parses() -> None:
    import re
    import shlex

    from bohsense.cli import build_parser

    text = (ROOT / "docs" / "benchmarks.md").read_text()
    lines = [ln for b in re.findall(r"```sh\n(.*?)```", text, flags=re.S) for ln in b.splitlines()]
    commands = [shlex.split(ln, comments=True) for ln in lines if "bohsense bench ingest" in ln]
    commands = [c[c.index("bohsense") + 1 :] for c in commands]
    assert any("--workers" in c for c in commands)
    for argv in commands:
        args = build_parser().parse_args(argv)
        assert args.handler.__name__ == "_ingest", argv
