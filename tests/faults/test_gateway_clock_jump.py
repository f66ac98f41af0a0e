"""Gateway clock jumping forward and back: the gateway's wall clock (``time.time`` /
``time.time_ns``, what every event time and clock sync of the gateway reads) is moved
+120 s, back to true, -120 s and back while the store runs; its monotonic clock, as on a
real host whose NTP steps the clock, is untouched.

libfaketime (Debian ``faketime``) was tried first: under it Python 3.11's ``time.sleep``
fails with EINVAL (``clock_nanosleep`` on a faked clock), so the gateway cannot run under
it. The offset is applied instead by a wrapper that replaces ``time.time`` and
``time.time_ns`` before the gateway's modules are imported, reading the offset from a
file the test writes.

Expected: nothing lost, nothing applied twice, sequence numbers contiguous (they are
counters, not times). Readings stored with an event time off by more than 1 s from the
device's true sample instant are reported as ``misdated``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults._report import lost_samples, report, score, settle
from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import StoreSystem, wait_for

WRAPPER = """
import runpy, sys, time
_path = sys.argv.pop(1)
_real_ns, _mono = time.time_ns, time.monotonic
_state = [0, -1.0]
def _offset_ns():
    now = _mono()
    if now - _state[1] > 0.05:
        _state[1] = now
        try:
            with open(_path) as f:
                _state[0] = int(float(f.read().strip() or 0) * 1e9)
        except (OSError, ValueError):
            pass
    return _state[0]
time.time_ns = lambda: _real_ns() + _offset_ns()
time.time = lambda: time.time_ns() / 1e9
sys.argv = ["bohsense", *sys.argv[1:]]
runpy.run_module("bohsense", run_name="__main__")
"""

#: (offset s, how long) of the gateway's wall clock
STEPS = [(0, 3.0), (120, 4.0), (0, 3.0), (-120, 4.0), (0, 3.0)]


class JumpingClockStore(StoreSystem):
    def start_edge(self) -> None:
        (self.workdir / "clockjump.py").write_text(WRAPPER)
        (self.workdir / "offset").write_text("0")
        log = open(self.workdir / "edge.log", "ab")  # noqa: SIM115 - lives as long as the child
        self.edge = subprocess.Popen(
            [sys.executable, str(self.workdir / "clockjump.py"), str(self.workdir / "offset"), "edge", "run",
             "--config", str(self.workdir / "gateway.toml")],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip


@pytest.mark.long
async def test_gateway_clock_jumps_lose_nothing_and_keep_sequence(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    s = JumpingClockStore(tmp_path, mosquitto.url, influxdb, f"sqlite:///{tmp_path / 'boh.sqlite3'}")
    await s.start()
    try:
        s.play()
        for offset, hold in STEPS:
            (tmp_path / "offset").write_text(str(offset))
            await asyncio.sleep(hold)
        s.pause()
        await asyncio.sleep(1)
        await settle(s)
        produced, stored, lost, twice = score(s)
        _, misdated_or_lost = lost_samples(s, [])
        rc = s.stop_edge()
        lines = [json.loads(x) for x in (tmp_path / "edge.log").read_text().splitlines() if x.startswith("{")]
        final = next(x for x in reversed(lines) if x.get("msg") == "edge agent stopped")
        batches = int(final["next_seq"]) - 1  # the last flushed at the stop
        with contextlib.suppress(AssertionError):
            await wait_for(
                lambda: s.service.stats()["batches_applied"] >= batches, limit_s=15, what="the last batch"
            )
        stats = s.service.stats()
    finally:
        await s.close()
    report(
        "gateway clock jumps +120 s / -120 s",
        produced=produced,
        stored=stored,
        lost=lost,
        applied_twice=twice,
        recover_s=None,
        misdated=max(0, misdated_or_lost - lost),
        batches=batches,
        batches_applied=stats["batches_applied"],
        duplicates=stats.get("duplicates", 0),
        quarantined=stats.get("quarantined", 0),
        exit_code=rc,
    )
    assert rc == 0
    assert lost == 0, f"{lost} of {produced} readings lost"
    assert twice == 0
    assert stats["batches_applied"] == batches, "every seq from 1 to next_seq - 1 applied once"
    assert stats.get("quarantined", 0) == 0
