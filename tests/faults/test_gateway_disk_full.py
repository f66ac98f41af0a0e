"""Gateway disk full: the outbox lives on a 2 MiB tmpfs, the broker is down so the
outbox only grows, and another file takes the rest of the disk. The gateway must keep
running, count what it cannot keep, and carry on storing once space returns."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults._report import integrity_check, report, score, settle
from tests.support.services import InfluxDB, Mosquitto
from tests.system.harness import StoreSystem, wait_for


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a 2 MiB tmpfs (root needed): {done.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


class SmallDiskStore(StoreSystem):
    disk: Path

    def start_edge(self) -> None:
        toml = self.workdir / "gateway.toml"
        toml.write_text(
            toml.read_text().replace(str(self.workdir / "outbox.sqlite3"), str(self.disk / "outbox.sqlite3"))
        )
        super().start_edge()


def fill(disk: Path, leave: int) -> Path:
    """Take the disk's free space but ``leave`` bytes with one file."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    with open(filler, "r+b") as f:
        f.truncate(max(0, filler.stat().st_size - leave))
    return filler


def edge_lines(workdir: Path) -> list[dict[str, object]]:
    out = []
    for line in (workdir / "edge.log").read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


@pytest.mark.long
async def test_gateway_disk_full_keeps_running_and_counts_the_drop(
    tmp_path: Path, own_mosquitto: Mosquitto, influxdb: InfluxDB, small_disk: Path
) -> None:
    s = SmallDiskStore(tmp_path, own_mosquitto.url, influxdb, f"sqlite:///{tmp_path / 'boh.sqlite3'}")
    s.disk = small_disk
    await s.start()
    try:
        s.play()
        await wait_for(
            lambda: sum(s.stored().values()) > 0, limit_s=20, what="readings before the disk fills"
        )
        own_mosquitto.stop(signal.SIGKILL)  # nothing leaves the outbox now
        filler = fill(small_disk, leave=64 * 1024)
        await asyncio.sleep(8)  # the outbox grows into the full disk
        alive_while_full = s.edge is not None and s.edge.poll() is None
        filler.unlink()  # space returns
        freed = time.monotonic()
        own_mosquitto.start()
        before = sum(s.stored().values())
        await wait_for(
            lambda: sum(s.stored().values()) > before, limit_s=30, what="readings after space returns"
        )
        recover_s = time.monotonic() - freed
        await asyncio.sleep(3)
        s.pause()
        await asyncio.sleep(1)
        # quiet longer than broker.resend_after_s (10 s): batches in flight when the broker
        # died are published again only then
        await settle(s, quiet_s=12)  # scored below: the shortfall is the loss
        with contextlib.suppress(AssertionError):  # the cloud's counters follow its writes
            await wait_for(
                lambda: s.service.stats()["readings_applied"] == sum(s.stored().values()),
                limit_s=10,
                what="the cloud's applied count to settle",
            )
        produced, stored, lost, twice = score(s)
        alive_at_end = s.edge is not None and s.edge.poll() is None
        rc = s.stop_edge() if alive_at_end else s.edge.returncode if s.edge else None
    finally:
        await s.close()
    lines = edge_lines(tmp_path)
    final = next((ln for ln in reversed(lines) if ln.get("msg") == "edge agent stopped"), {})
    check = integrity_check(small_disk / "outbox.sqlite3")
    report(
        "gateway disk full (2 MiB tmpfs)",
        produced=produced,
        stored=stored,
        lost=lost,
        applied_twice=twice,
        recover_s=recover_s,
        alive_while_full=alive_while_full,
        exit_code=rc,
        counted_dropped=final.get("dropped_readings"),
        counted_lost=final.get("lost_readings"),
        counted_overflow=final.get("buffer_overflow"),
        integrity=check,
    )
    assert alive_while_full, "the gateway died on a full disk:\n" + "\n".join(
        str(ln.get("msg")) for ln in lines[-15:]
    )
    assert check == "ok"
    assert twice == 0
    counted = int(final.get("lost_readings", 0)) + int(final.get("buffer_overflow", 0))  # type: ignore[arg-type]
    assert lost <= counted, f"{lost} readings lost but only {counted} counted as dropped"


def test_outbox_on_a_full_disk_drops_the_oldest_then_refuses_and_counts(small_disk: Path) -> None:
    """The outbox alone on the full tmpfs: a batch the disk cannot take is refused with
    ``OutboxFullError`` (after trying to make room by dropping the oldest entries) and
    counted as dropped and lost; what is held stays intact; once space returns appends
    go on and the count is persisted."""
    from bohsense.edge.errors import OutboxFullError
    from bohsense.edge.outbox import Outbox

    path = small_disk / "outbox.sqlite3"
    ob = Outbox(path, max_rows=1_000_000, max_bytes=1 << 30, max_age_s=3600, synchronous="full")
    filler = fill(small_disk, leave=256 * 1024)
    payload = os.urandom(8 * 1024)
    appended = refused = 0
    for _ in range(400):  # 3.2 MB into what is left of 2 MiB
        try:
            ob.append(payload, 10)
            appended += 1
        except OutboxFullError:
            refused += 1
    st = ob.stats()
    assert refused > 0, "the full disk was met"
    assert st.dropped_batches + st.depth == appended + refused, "every batch is held or counted"
    assert st.dropped_readings == 10 * st.dropped_batches
    assert st.lost_readings == st.dropped_readings, "never sent: lost for certain, and said so"
    held = ob.fetch(0, 10_000)
    assert len(held) == st.depth
    assert all(e.payload == payload for e in held), "what is held is intact"
    filler.unlink()  # space returns
    ob.append(payload, 10)
    counted = ob.stats()
    ob.close()
    assert integrity_check(path) == "ok"
    again = Outbox(path, max_rows=1_000_000, max_bytes=1 << 30, max_age_s=3600)
    try:
        assert again.stats().dropped_batches == counted.dropped_batches, "the drop count survives a restart"
        assert again.stats().lost_readings == counted.lost_readings
    finally:
        again.close()
