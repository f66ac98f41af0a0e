"""The store-level load benchmarks run end to end on real parts (a gateway process, the
simulators, Mosquitto, InfluxDB, the cloud process) and print sane figures; speed is not
asserted, what the store produced and what arrived is."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.bench.test_bench import ROOT, run_cli


@pytest.mark.long  # a whole store for ~20 s; docs/benchmarks.md has its figures
def test_store_bench_samples_the_gateway_serving_a_whole_store() -> None:
    out, err = run_cli("bench", "store", "--duration", "4")
    assert out["store"]["shelf_lanes"] == 40
    assert out["store"]["rfid_readers"] == 4
    assert 0 < out["cpu_fraction_of_one_core"] < 2.0
    assert 10 < out["rss_mb_first_third_median"] <= out["rss_mb_max"]
    # 40 lanes at 10 Hz reach the gateway, whatever the machine's speed
    assert out["readings_in_per_s"] > 300
    assert out["rfid_driver_stats"], "the LLRP drivers reported nothing"
    assert out["batches_acked_per_s"] > 0
    assert "gateway pid" in err


@pytest.mark.long  # ~40 s: the default run keeps to its time budget
def test_latency_bench_times_picks_and_an_alarm_against_the_broker_round_trip() -> None:
    # 20 s: the first stuck-sensor alarm is due 5 s in, with the sensor's next block (10 s)
    out, err = run_cli(
        "bench", "latency", "--duration", "20", "--fleet-rate", "5000", "--fleet-gateways", "5"
    )
    api, broker = out["pick_to_api"], out["broker_round_trip"]
    assert api["n"] >= 1
    assert out["missed"] == 0
    assert broker["n"] > 10
    assert api["p50_ms"] > broker["p50_ms"] > 0
    assert out["fleet"]["readings_per_s"] > 0
    mqtt, sse = out["alarm_to_mqtt_alert_topic"], out["alarm_to_sse_feed"]
    assert (mqtt["n"], sse["n"], out["alarms_missed"]) == (1, 1, 0)
    # the feeds come after the cloud has the alarm, which comes after the gateway made it
    assert mqtt["p50_ms"] >= out["alarm_to_cloud_received"]["p50_ms"] > 0
    assert sse["p50_ms"] >= out["alarm_to_cloud_received"]["p50_ms"]
    assert "pick → API" in err
    assert "alarm → MQTT alert topic" in err


@pytest.mark.long  # ~25 s: the default run keeps to its time budget
def test_outage_bench_drains_the_backlog_with_nothing_lost_or_applied_twice() -> None:
    out, err = run_cli("bench", "outage", "--outage", "3", "--live", "5")
    assert out["backlog_batches"] > 0
    assert out["readings_stored"] >= out["readings_accepted"] > 0
    assert (out["readings_lost"], out["events_lost"], out["events_applied_twice"]) == (0, 0, 0)
    assert out["drain_batches_per_s"] > 0
    # the stuck sensor's alarms come with its next block, up to 10 s after the cut: in so short
    # an outage they may come after the restore; when one came during it, it went first
    urgent = out["urgent"]
    assert urgent["backlog_events"] > 0
    if urgent["urgent_events"]:
        assert urgent["urgent_in_first_commit"] is True
    assert "WAN restored" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("store", "--duration", "0"), "--duration must be > 0"),
        (("latency", "--duration", "-1"), "--duration must be > 0"),
        (
            ("latency", "--duration", "5", "--fleet-gateways", "0"),
            "--fleet-rate > 0 needs --fleet-gateways >= 1",
        ),
        (("outage", "--outage", "0"), "--outage must be > 0"),
        (("outage", "--live", "2"), "--live must be at least 5 s"),
    ],
)
def test_load_benches_refuse_bad_arguments(args: tuple[str, ...], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bohsense", "bench", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
