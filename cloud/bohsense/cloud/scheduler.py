"""Time-driven jobs of the cloud service: the silence sweep, command expiry, the
escalation of alerts left unacknowledged, and the periodic replenishment review
(``register_core_jobs``).

A job is a name, a period and a blocking function; each due job runs in a worker
thread (BOH calls are synchronous), one job at a time, in the order registered. A job
that raises is logged with its name and counted (``failures``), and runs again at its
next period: a database blip must not stop the sweeps. The clock is injectable, and
``run_due()`` runs what is due now without waiting, so tests drive it step by step.

``run(stop)`` is the service's ``scheduler`` task: it runs due jobs, sleeps until the
next one is due or ``stop`` is set, and returns promptly once it is (a running job is
finished first; jobs are short sweeps).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Job", "Scheduler", "register_core_jobs"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every_s: float
    run: Callable[[], object]


@dataclass(slots=True)
class _Entry:
    job: Job
    due: float
    runs: int = 0
    failures: int = 0
    last_error: str = ""


@dataclass
class Scheduler:
    #: seconds on a monotonic scale
    clock: Callable[[], float] = time.monotonic
    _entries: list[_Entry] = field(default_factory=list)

    def add(
        self, name: str, every_s: float, fn: Callable[[], object], *, first_in_s: float | None = None
    ) -> None:
        """Run ``fn`` every ``every_s`` seconds, the first time after ``first_in_s`` (default: one period)."""
        if every_s <= 0:
            raise ValueError(f"job {name!r}: every_s must be positive, not {every_s}")
        if any(e.job.name == name for e in self._entries):
            raise ValueError(f"a job named {name!r} is already registered")
        delay = every_s if first_in_s is None else first_in_s
        self._entries.append(_Entry(Job(name, every_s, fn), self.clock() + delay))

    @property
    def jobs(self) -> list[str]:
        return [e.job.name for e in self._entries]

    def stats(self) -> dict[str, dict[str, object]]:
        return {
            e.job.name: {"runs": e.runs, "failures": e.failures, "last_error": e.last_error}
            for e in self._entries
        }

    def seconds_to_next(self) -> float | None:
        if not self._entries:
            return None
        return max(0.0, min(e.due for e in self._entries) - self.clock())

    async def run_due(self) -> list[str]:
        """Run every job whose time has come; the names of those run."""
        ran: list[str] = []
        for entry in self._entries:
            now = self.clock()
            if entry.due > now:
                continue
            entry.due = now + entry.job.every_s  # a slow job never runs back to back
            entry.runs += 1
            ran.append(entry.job.name)
            try:
                await asyncio.to_thread(entry.job.run)
            except Exception as exc:  # counted and logged; the job runs again next period
                entry.failures += 1
                entry.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("scheduled job failed", extra={"job": entry.job.name})
        return ran

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.run_due()
            wait = self.seconds_to_next()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await stop.wait()


class JobSettings(Protocol):
    """What ``register_core_jobs`` reads of ``CloudSettings``."""

    @property
    def gateway_silence_s(self) -> float: ...
    @property
    def device_silence_s(self) -> float: ...
    @property
    def command_timeout_s(self) -> float: ...
    @property
    def sweep_interval_s(self) -> float: ...
    @property
    def replenishment_review_s(self) -> float: ...
    @property
    def webhook_interval_s(self) -> float: ...
    @property
    def stock_watch_s(self) -> float: ...

    def escalation_after_s(self) -> dict[str, float]: ...


def register_core_jobs(scheduler: Scheduler, core: Any, s: JobSettings, *, listening_since_ns: int) -> None:
    """The BOH core's jobs, each off when its timeout or period is 0:

    - ``silence``: alerts for gateways and devices gone silent (every ``sweep_interval_s``);
    - ``command-expiry``: commands with no result past ``command_timeout_s`` expire;
    - ``escalation``: alerts unacknowledged past their severity's delay escalate (the
      delays are the core's ``escalation_after_s``; checked every ``sweep_interval_s``, so
      an escalation is at most that late);
    - ``replenishment-review``: open, unapproved proposals re-sized by the stock rule
      (every ``replenishment_review_s``);
    - ``webhook-delivery``: the webhook outbox delivered (every ``webhook_interval_s``, when
      a webhook URL is configured).
    - ``stock-watch``: phantom inventory, likely shrink and unsold door departures
      (``BohCore.sweep_stock``, every ``stock_watch_s``).
    - ``auto-resolve``: alerts whose condition has been cleared for ``alert_auto_resolve_s``
      are resolved (checked every ``sweep_interval_s``).
    """
    if s.gateway_silence_s or s.device_silence_s:
        scheduler.add(
            "silence",
            s.sweep_interval_s,
            lambda: core.sweep_silence(
                gateway_timeout_s=s.gateway_silence_s,
                device_timeout_s=s.device_silence_s,
                listening_since_ns=listening_since_ns,
            ),
        )
    if s.command_timeout_s:
        scheduler.add(
            "command-expiry",
            s.sweep_interval_s,
            lambda: core.expire_commands(timeout_s=s.command_timeout_s),
        )
    if any(v > 0 for v in s.escalation_after_s().values()):
        scheduler.add("escalation", s.sweep_interval_s, lambda: core.escalate_alerts())
    if s.replenishment_review_s:
        scheduler.add("replenishment-review", s.replenishment_review_s, lambda: core.review_replenishment())
    webhooks = getattr(s, "webhook_config", None)
    if webhooks is not None and webhooks() is not None:
        scheduler.add(
            "webhook-delivery", s.webhook_interval_s, lambda: core.deliver_webhooks(), first_in_s=0.0
        )
    if s.stock_watch_s:
        scheduler.add("stock-watch", s.stock_watch_s, lambda: core.sweep_stock())
    if getattr(s, "alert_auto_resolve_s", 0):
        scheduler.add("auto-resolve", s.sweep_interval_s, lambda: core.auto_resolve_alerts())
