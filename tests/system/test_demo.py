"""`bohsense demo`: the README's first command, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bohsense.simulators import ConditionScenario
from tests.support.services import InfluxDB, Mosquitto

#: long enough for the compressor's detector to learn its normal before the fault shows
DURATION = "40"


def run_demo(*args: str, limit_s: float = 180) -> tuple[dict[str, object], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "bohsense", "demo", "--api-port", "0", *args],
        capture_output=True,
        text=True,
        timeout=limit_s,
        check=False,
    )
    assert proc.returncode == 0, (
        f"demo exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-1]), proc.stdout


def check_summary(summary: dict[str, object]) -> None:
    assert summary["readings_lost"] == 0
    assert summary["duplicates_applied"] == 0
    assert isinstance(summary["readings_ingested"], int)
    assert summary["readings_ingested"] >= summary["readings_produced"]  # + the gateway's `units`
    assert summary["alerts"] == 1
    assert summary["work_orders"] == 1
    assert summary["replenishment_proposals"] == 1
    assert summary["quarantined"] == 0
    assert summary["pos_transactions"] == 4 + 10  # a receipt per lane, a sale per scripted pick
    check_maintenance(summary)


def check_maintenance(summary: dict[str, object]) -> None:
    """The compressor's bearing fault: detected, diagnosed as the scenario's class, and one
    work order with its evidence and the catalog's checks and parts."""
    m = summary["maintenance"]
    assert isinstance(m, dict)
    truth = ConditionScenario.load("condition-compressor-inner-race").ground_truth()
    (fault,) = truth["faults"]
    assert m["injected_faults"] == [fault["kind"]] == ["inner_race"]
    assert m["detected"] is True
    assert m["model"] == "condition-anomaly@1"
    assert m["fault_type"] == m["diagnosis"] == fault["kind"]
    db = m["db_above_baseline"]
    assert db["inner_race"] >= 6.0
    assert db["inner_race"] == max(db.values())
    # detected after the defect's onset, and before functional failure
    assert fault["onset_s"] / 86_400 < m["confirmed_sim_day"] < fault["failure_s"] / 86_400
    assert isinstance(m["work_order_id"], int)
    assert m["work_order_url"].endswith(f"/api/v1/work-orders/{m['work_order_id']}")
    assert {"diagnosis", "envelope", "trend", "baselines", "score", "model"} <= set(m["evidence_keys"])
    assert any("BPFI" in c for c in m["checks"])
    assert m["spare_parts"]
    assert m["spare_parts"][0]["quantity"] == 2


def test_demo_on_embedded_defaults(tmp_path: Path) -> None:
    summary, stdout = run_demo("--duration", DURATION, "--workdir", str(tmp_path))
    check_summary(summary)
    # it says where to look, and shows progress
    assert "/api/v1/summary" in stdout
    first_address = next(line for line in stdout.splitlines() if "http://" in line)
    assert first_address.split()[:1] == ["dashboard"], first_address
    assert first_address.split()[1].endswith("/dashboard/"), first_address
    assert "[   10 s] readings" in stdout
    # where to look for the compressor's work order, and what became of it
    assert "/api/v1/work-orders?asset=cooler-compressor-1" in stdout
    maintenance = summary["maintenance"]
    assert isinstance(maintenance, dict)
    assert f"diagnosed inner_race (alert {maintenance['alert_id']}" in stdout
    assert (tmp_path / "edge.log").stat().st_size > 0
    assert summary["edge_exit_code"] == 0
    # a proposal with its explanation, approved; its order reached the demo's receiver, signed
    order = summary["order"]
    assert isinstance(order, dict)
    assert order["webhook_delivered"] is True
    assert order["signature_verified"] is True
    assert order["source"] == "forecast"
    assert f"/api/v1/replenishment/{order['proposal_id']}/explanation" in stdout


@pytest.mark.long  # the README's demo (embedded defaults) runs in the default suite
def test_demo_on_real_broker_and_influxdb(tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB) -> None:
    summary, _ = run_demo(
        "--duration",
        DURATION,
        "--workdir",
        str(tmp_path),
        "--broker",
        mosquitto.url,
        "--influx",
        f"{influxdb.url}?db=demo",
    )
    check_summary(summary)
    out = influxdb.query('SELECT count(*) FROM "shelf", "condition", "reader", "device"', db="demo")
    series = out["results"][0]["series"]  # type: ignore[index]
    stored = sum(v for s in series for v in s["values"][0][1:] if v is not None)
    assert stored == summary["readings_stored"]
