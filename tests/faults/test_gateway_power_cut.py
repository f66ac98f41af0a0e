"""Power cut on the gateway: the gateway process is SIGKILLed at seeded random points of
a running store, many times. After every kill the outbox passes ``PRAGMA
integrity_check`` and the gateway restarts on it; some kills land in the restarted
gateway's start-up. At the end no reading is applied
twice, and no reading is lost except the samples a device sent while no gateway process
had its port open (from the kill, less the one batch window in memory, to the restarted
gateway's first frame to the device): a serial device keeps no backlog for an absent
host, and opening a serial port discards what the line held; and what the killed process
had read but not yet committed to its outbox (one batch window, or all since its start if
it had not yet synced the devices). Those are counted apart
(``lost_while_down``); everything else lost (``lost_elsewhere``) must be 0.

The outbox runs with ``synchronous = "full"`` (the default), the setting that promises
to survive a power cut; SIGKILL stops the process at any instruction, but it cannot drop
the OS page cache, so it proves the crash half of that promise (see docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import pytest

from tests.faults._report import integrity_check, lost_samples, report, score, settle
from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import StoreSystem, wait_for

SEED = 20261201
#: readings in the gateway's memory at a kill: one batch window (max_delay_ms 200) and a read
IN_MEMORY_NS = 400_000_000


class FullSyncStore(StoreSystem):
    """The demo store with the outbox at ``synchronous = "full"``."""

    def start_edge(self) -> None:
        toml = self.workdir / "gateway.toml"
        toml.write_text(toml.read_text().replace('synchronous = "normal"', 'synchronous = "full"'))
        super().start_edge()


def hello_requests(s: StoreSystem) -> list[int]:
    """HelloRequests each device has heard: a gateway sends one when it opens the port."""
    return [int(d.ground_truth()["rx_frames"].get("HelloRequest", 0)) for d in s.devices]


def ports_opened(s: StoreSystem, since: list[int]) -> bool:
    return all(a > b for a, b in zip(hello_requests(s), since, strict=True))


async def power_cuts(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB, kills: int, *, name: str
) -> None:
    seed = SEED + kills
    rng = random.Random(seed)
    s = FullSyncStore(tmp_path, mosquitto.url, influxdb, f"sqlite:///{tmp_path / 'boh.sqlite3'}")
    outbox = tmp_path / "outbox.sqlite3"
    await s.start()
    recovered: list[float] = []
    checks: list[str] = []
    windows: list[tuple[int, int]] = []
    try:
        s.play()
        await wait_for(lambda: sum(s.stored().values()) > 0, limit_s=20, what="readings before the first cut")
        # the timeline: a kill every 0.2-3 s, some during the restarted gateway's start-up
        down_since: int | None = None  # a gateway process last read the ports before this
        opened_ref = hello_requests(s)
        started_ns, stored_at_start = time.time_ns(), sum(s.stored().values())
        for _ in range(kills):
            until = time.monotonic() + rng.uniform(0.2, 3.0)
            while time.monotonic() < until:
                if down_since is not None and ports_opened(s, opened_ref):
                    windows.append((down_since, time.time_ns()))
                    down_since = None
                await asyncio.sleep(0.02)
            now_ns = time.time_ns()
            if down_since is None:
                # what the killed process held in memory: one batch window, or all it read
                # since its start if it had committed nothing that reached the cloud yet
                committed = sum(s.stored().values()) > stored_at_start
                down_since = now_ns - IN_MEMORY_NS if committed else started_ns
            s.kill_edge()
            checks.append(integrity_check(outbox))
            opened_ref = hello_requests(s)
            started_ns, stored_at_start = time.time_ns(), sum(s.stored().values())
            restarted = time.monotonic()
            s.start_edge()
        await wait_for(
            lambda: ports_opened(s, opened_ref), limit_s=30, what="the last gateway to open its ports"
        )
        assert down_since is not None
        windows.append((down_since, time.time_ns()))
        await wait_for(
            lambda: sum(s.stored().values()) > stored_at_start,
            limit_s=30,
            what="readings stored after the last restart",
            every_s=0.05,
        )
        recovered.append(time.monotonic() - restarted)
        await asyncio.sleep(2)
        s.pause()
        await asyncio.sleep(1)
        await settle(s)  # scored below: the shortfall is the loss
        produced, stored, lost, twice = score(s)
        while_down, elsewhere = lost_samples(s, windows)
    finally:
        await s.close()
    bad = [c for c in checks if c != "ok"]
    report(
        name,
        produced=produced,
        stored=stored,
        lost=lost,
        applied_twice=twice,
        recover_s=recovered[-1],
        kills=kills,
        seed=seed,
        integrity_ok=f"{len(checks) - len(bad)}/{len(checks)}",
        lost_while_down=while_down,
        lost_elsewhere=elsewhere,
    )
    assert not bad, f"outbox integrity_check after a kill: {bad[:3]}"
    assert twice == 0, f"{twice} readings applied twice"
    assert elsewhere == 0, f"{elsewhere} readings lost outside the windows with no gateway reading"
    assert while_down + elsewhere >= lost, "every lost reading is accounted for by a device sample"


@pytest.mark.long  # ten kills take ~25 s; docs/reliability.md has its figures
async def test_gateway_power_cut_ten_kills(tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB) -> None:
    kills = int(os.environ.get("BOHSENSE_FAULT_KILLS", "10"))
    await power_cuts(tmp_path, mosquitto, influxdb, kills, name=f"gateway power cut ({kills} kills)")


@pytest.mark.long
async def test_gateway_power_cut_hundred_kills(
    tmp_path: Path, mosquitto: Mosquitto, influxdb: InfluxDB
) -> None:
    await power_cuts(tmp_path, mosquitto, influxdb, 100, name="gateway power cut (100 kills)")
