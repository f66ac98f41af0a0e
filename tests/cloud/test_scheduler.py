"""The cloud's scheduler of time-driven jobs, driven by a controlled clock."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from bohsense.cloud.scheduler import Scheduler, register_core_jobs


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


@dataclass
class NsClock:
    """The core's clock (ns), moved together with the scheduler's (s)."""

    sched: FakeClock

    def __call__(self) -> int:
        return int(self.sched.t * 1e9)


async def test_the_escalation_job_escalates_on_time_and_once(tmp_path: Path) -> None:
    from bohsense.cloud.boh import BohCore
    from bohsense.cloud.settings import CloudSettings

    from .boh.factory import DURATION_S, LIMIT, T0, batch, catalog, vib

    clock = FakeClock(T0 / 1e9)
    settings = CloudSettings(
        gateway_silence_s=0, device_silence_s=0, escalate_major_s=120, sweep_interval_s=10
    )
    core = BohCore(
        f"sqlite:///{tmp_path / 'boh.db'}",
        clock=NsClock(clock),
        escalation_after_s=settings.escalation_after_s(),
    )
    core.migrate()
    core.load_catalog(catalog())
    sched = Scheduler(clock=clock)
    register_core_jobs(sched, core, settings, listening_since_ns=T0)
    assert sched.jobs == [
        "command-expiry",
        "escalation",
        "replenishment-review",
        "stock-watch",
        "auto-resolve",
    ]
    core.apply_batches([batch(1, [vib(t, LIMIT + 1) for t in range(0, DURATION_S + 1, 5)])])
    (alert,) = core.list_alerts()  # opened at the clock's time: T0
    levels = []
    for _ in range(14):  # 140 s in steps of one period
        clock.t += 10
        ran = await sched.run_due()
        assert "escalation" in ran
        levels.append(core.get_alert(alert.id).escalation_level)
    assert sched.stats()["escalation"]["failures"] == 0
    # due at T0 + 120 s: the runs at 10 … 110 s leave it, the run at 120 s escalates, once
    assert levels == [0] * 11 + [1] * 3
    escalated = [e for e in core.changes(after=0, limit=1000).events if e.kind == "alert.escalated"]
    assert len(escalated) == 1
    assert escalated[0].at_ns == T0 + 120 * 10**9
    core.close()


def test_jobs_off_when_their_timeouts_are_zero() -> None:
    from bohsense.cloud.settings import CloudSettings

    settings = CloudSettings(
        gateway_silence_s=0,
        device_silence_s=0,
        command_timeout_s=0,
        escalate_critical_s=0,
        escalate_major_s=0,
        escalate_warning_s=0,
        escalate_info_s=0,
        replenishment_review_s=0,
        stock_watch_s=0,
        alert_auto_resolve_s=0,
    )
    sched = Scheduler(clock=FakeClock())
    register_core_jobs(sched, object(), settings, listening_since_ns=0)
    assert sched.jobs == []
    register_core_jobs(sched, object(), CloudSettings(), listening_since_ns=0)
    assert sched.jobs == [
        "silence",
        "command-expiry",
        "escalation",
        "replenishment-review",
        "stock-watch",
        "auto-resolve",
    ]


def test_the_webhook_delivery_job_runs_once_a_webhook_url_is_set() -> None:
    from bohsense.cloud.settings import CloudSettings

    sched = Scheduler(clock=FakeClock())
    settings = CloudSettings(
        webhook_orders_url="http://127.0.0.1:9/hooks", webhook_secret="Zq8-wT2vLx9RmK4pNc7s"
    )
    register_core_jobs(sched, object(), settings, listening_since_ns=0)
    assert "webhook-delivery" in sched.jobs
