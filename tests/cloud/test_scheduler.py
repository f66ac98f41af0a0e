"""The cloud's scheduler of time-driven jobs, driven by a controlled clock."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

import pytest

from bohsense.cloud.scheduler import Scheduler


@dataclass
class FakeClock:
    t: float = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_jobs_run_when_due_and_not_before() -> None:
    clock = FakeClock()
    sched = Scheduler(clock=clock)
    ran: list[str] = []
    sched.add("sweep", 30, lambda: ran.append("sweep"))
    sched.add("expiry", 60, lambda: ran.append("expiry"), first_in_s=0)
    assert await sched.run_due() == ["expiry"]
    clock.t += 29.9
    assert await sched.run_due() == []
    assert sched.seconds_to_next() == pytest.approx(0.1)
    clock.t += 0.1
    assert await sched.run_due() == ["sweep"]
    clock.t += 30
    assert await sched.run_due() == ["sweep", "expiry"]
    clock.t += 300  # a long pause runs each job once, not once per missed period
    assert await sched.run_due() == ["sweep", "expiry"]
    assert ran == ["expiry", "sweep", "sweep", "expiry", "sweep", "expiry"]
    assert sched.stats()["sweep"] == {"runs": 3, "failures": 0, "last_error": ""}


async def test_a_failing_job_is_counted_logged_and_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    sched = Scheduler(clock=clock)
    calls = {"bad": 0, "good": 0}

    def bad() -> None:
        calls["bad"] += 1
        raise ConnectionError("database away")

    sched.add("bad", 10, bad, first_in_s=0)
    sched.add("good", 10, lambda: calls.__setitem__("good", calls["good"] + 1), first_in_s=0)
    with caplog.at_level(logging.ERROR, logger="bohsense.cloud.scheduler"):
        assert await sched.run_due() == ["bad", "good"]
        clock.t += 10
        await sched.run_due()
    assert calls == {"bad": 2, "good": 2}
    assert sched.stats()["bad"] == {"runs": 2, "failures": 2, "last_error": "ConnectionError: database away"}
    assert [r.job for r in caplog.records] == ["bad", "bad"]  # type: ignore[attr-defined]
    assert all(r.exc_info for r in caplog.records)  # with the traceback


async def test_jobs_run_in_a_worker_thread_not_the_event_loop() -> None:
    sched = Scheduler(clock=FakeClock())
    threads: list[int] = []
    sched.add("job", 1, lambda: threads.append(threading.get_ident()), first_in_s=0)
    await sched.run_due()
    assert threads
    assert threads != [threading.get_ident()]


def test_registration_is_checked() -> None:
    sched = Scheduler(clock=FakeClock())
    sched.add("a", 1, lambda: None)
    with pytest.raises(ValueError, match="already registered"):
        sched.add("a", 1, lambda: None)
    with pytest.raises(ValueError, match="must be positive"):
        sched.add("b", 0, lambda: None)
    assert sched.jobs == ["a"]


async def test_run_repeats_jobs_and_stops_promptly_on_stop() -> None:
    sched = Scheduler()
    ran = asyncio.Queue[float]()
    loop = asyncio.get_running_loop()
    sched.add("tick", 0.05, lambda: loop.call_soon_threadsafe(ran.put_nowait, loop.time()), first_in_s=0)
    sched.add("hourly", 3600, lambda: None)
    stop = asyncio.Event()
    task = asyncio.create_task(sched.run(stop), name="scheduler")
    async with asyncio.timeout(5):
        for _ in range(3):
            await ran.get()
    stop.set()
    async with asyncio.timeout(1):  # not after the hourly job's period
        await task
    assert sched.stats()["tick"]["runs"] >= 3  # type: ignore[operator]
    assert sched.stats()["hourly"]["runs"] == 0
