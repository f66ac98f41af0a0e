"""``bench api`` runs end to end on a tiny schedule and reports sane figures (speed is not
asserted: every read answered, the trivial endpoint timed in the same run, live-feed events
reaching every SSE client of each step)."""

from __future__ import annotations

from tests.bench.test_bench import run_cli


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
