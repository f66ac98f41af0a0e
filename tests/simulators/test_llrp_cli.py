"""``bohsense sim llrp``: prints where each reader listens, serves sllurp, stops cleanly on
SIGTERM writing the ground truth; bad arguments are refused with exit code 2."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from importlib import resources
from pathlib import Path

from bohsense.contracts.epc import Sgtin96
from tests.simulators.test_llrp_sllurp import Sllurp, wait_for

STORE = resources.files("bohsense.simulators") / "scenarios" / "store.toml"


def sim(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bohsense", "sim", "llrp", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_cli_serves_the_scenarios_readers_until_sigterm(tmp_path: Path) -> None:
    truth = tmp_path / "truth.jsonl"
    with resources.as_file(STORE) as store:
        proc = sim("--port", "0", "--scenario", str(store), "--seed", "1", "--fault", "reject-n-tags@dock-reader",
                   "--ground-truth", str(truth))  # fmt: skip
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline().split() for _ in range(2)]
            assert [name for name, _ in lines] == ["backroom-reader", "dock-reader"]
            ports = {name: int(where.rpartition(":")[2]) for name, where in lines}
            assert all(where.startswith("127.0.0.1:") for _, where in lines)
            with Sllurp(ports["backroom-reader"], antennas=[1, 2], report_every_n_tags=1) as s:
                assert wait_for(lambda: len(s.seen()) == 12)  # all the stock is in view at the start
            assert {Sgtin96.from_hex(e).gtin14() for e in s.seen()} == {"80614141123458", "04006381333931"}
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "stopped backroom-reader:" in err
    events = [json.loads(line) for line in truth.read_text().splitlines()]
    assert {e["event"] for e in events} >= {"stocked"}
    assert sum(e["event"] == "stocked" for e in events) == 12


def test_bad_arguments_exit_2_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = 1\nreaders = []\n")
    for args, text in [
        (("--fault", "melt"), "unknown fault 'melt'"),
        (("--fault", "drop=1@ghost"), "no reader 'ghost'"),
        (("--scenario", str(bad)), "at least one reader"),
        (("--scenario", str(tmp_path / "missing.toml")), "missing.toml"),
    ]:
        proc = sim("--port", "0", *args)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 2, (args, err)
        assert text in err
        assert out == ""
