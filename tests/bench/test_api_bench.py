"""``bench api`` on a tiny schedule reports sane figures (speed is not asserted: every read
answered, the trivial endpoint timed in the same run, live-feed events reaching every SSE
client of each step). Its phases run against the served app in this process (fast); the
whole command, which starts uvicorn in a process of its own, with ``-m long``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bohsense.bench._api import ENDPOINTS, _feeds, _reads, make_app, seed
from tests.bench.test_bench import run_cli
from tests.cloud.api.live import serve


def test_the_read_and_feed_phases_measure_the_served_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'boh.db'}"
    seeded = seed(url, 1)
    assert seeded["alerts"] > 0
    assert seeded["proposals"] > 0
    monkeypatch.setenv("BOHSENSE_BENCH_DATABASE_URL", url)
    monkeypatch.setenv("BOHSENSE_BENCH_TSDB", str(tmp_path / "ts.db"))
    with serve(make_app()) as base:
        reads = asyncio.run(_reads(base, 60.0, 0.3))
        feeds = asyncio.run(_feeds(base, url, 1, 1, 2, 0.5, 20.0))
    assert reads["errors"] == 0
    assert reads["requests"] == 18
    assert set(reads["endpoints"]) == set(ENDPOINTS)
    assert reads["reads"]["n"] + reads["trivial"]["n"] == 18
    assert reads["ratio_p50"] == round(reads["reads"]["p50_ms"] / reads["trivial"]["p50_ms"], 2)
    assert [s["clients"] for s in feeds["steps"]][:1] == [1]
    assert all(s["events_received"] > 0 for s in feeds["steps"]), feeds
    assert feeds["steps"][0]["p50_ms"] > 0


@pytest.mark.long  # two processes import the cloud: ~10 s on a quiet machine, more on a busy one
def test_api_bench_times_the_reads_against_a_trivial_endpoint_and_ramps_sse_clients() -> None:
    out, err = run_cli(
        "bench", "api", "--stores", "1", "--seconds", "0.5", "--rate", "40",
        "--sse-start", "1", "--sse-cap", "2", "--sse-step-s", "0.6",
    )  # fmt: skip
    assert out["errors"] == 0
    assert out["requests"] == 20
    assert set(out["endpoints"]) == {
        "/api/v1/alerts", "/api/v1/work-orders", "/api/v1/stock", "/api/v1/replenishment", "/api/v1/gateways",
    }  # fmt: skip
    assert out["reads"]["n"] == sum(e["n"] for e in out["endpoints"].values())
    assert out["reads"]["n"] + out["trivial"]["n"] == out["requests"]
    assert 0 < out["trivial"]["p50_ms"] <= out["trivial"]["p99_ms"] <= out["trivial"]["max_ms"]
    assert out["ratio_p50"] == round(out["reads"]["p50_ms"] / out["trivial"]["p50_ms"], 2)
    assert out["seeded"]["alerts"] > 0
    assert out["seeded"]["proposals"] > 0
    sse = out["sse"]
    assert [s["clients"] for s in sse["steps"]][:1] == [1]
    assert all(s["events_received"] > 0 for s in sse["steps"]), sse
    assert sse["stopped_by"] in ("cap", "p99 over 1 s", "clients failed")
    assert "SSE clients from 1" in err


def test_api_bench_refuses_bad_arguments() -> None:
    import subprocess
    import sys

    from tests.bench.test_bench import ROOT

    proc = subprocess.run(
        [sys.executable, "-m", "bohsense", "bench", "api", "--sse-start", "0"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--sse-start must be at least 1" in proc.stderr
