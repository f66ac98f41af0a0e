"""The cloud service's composition root: settings → store, BOH core, ingest worker, API.

``CloudService(settings).run(stop)`` opens the time-series store, migrates the BOH core,
starts the ingest worker, the scheduler of time-driven jobs (silence sweep, command
expiry) and serves the HTTP API with uvicorn in the same event loop, until ``stop`` is
set (or SIGTERM / SIGINT when ``install_signal_handlers``). Shutdown is
graceful with a time limit: the API stops accepting, the worker commits what it has
collected (anything not committed stays unacknowledged at the broker), then both are
cancelled if they overrun ``shutdown_timeout_s``.

Start-up order: the API's socket is bound first, so a port clash stops the start before
anything is opened or ingested; the worker starts once the API serves. ``run`` returns
the process exit code:

====  ======================================================================  =========
code  meaning                                                                 restart?
====  ======================================================================  =========
0     stopped cleanly (SIGTERM / SIGINT / ``stop``)                           —
1     a part (ingest, API, scheduler) failed while running                    yes
3     cannot start: the API cannot listen on its address (port taken, …)      yes
78    invalid settings, catalog or models (``EX_CONFIG``; ``bohsense cloud    no
      run`` checks settings); the store refusing the credentials at start
====  ======================================================================  =========

A start-up failure is one ``ERROR`` log line (``cannot start: …``), no traceback. A
dependency that is not reachable yet (the time-series store, the BOH database) is waited
for with back-off, one ``WARNING`` line per attempt naming it (passwords masked); a stop
while waiting is a clean exit (0) with one line saying what it was still waiting for.

Under systemd (``Type=notify``, ``bohsense.contracts.sdnotify``): STATUS= says what the
start is waiting for; READY=1 once the store is open, the BOH database migrated, the API
serving and ingest subscribed (or, with the broker still unreachable after
``READY_WAIT_S``, with a STATUS= saying ingest is not subscribed yet: the worker keeps
trying and ``/health`` says so; holding the start job longer would only get the unit
killed by ``TimeoutStartSec=``); WATCHDOG=1 at half of ``WatchdogSec=`` while the event
loop runs and no part has ended; STOPPING=1 when shutdown begins. SIGHUP changes nothing
(the settings are read at start only) and says so in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from typing import Any

from bohsense.cloud._starting import StartingApp
from bohsense.cloud.errors import CloudError
from bohsense.cloud.ingest import Backoff, ClientIdInUse, IngestWorker
from bohsense.cloud.scheduler import Scheduler, register_core_jobs
from bohsense.cloud.settings import CloudSettings, mask_url
from bohsense.cloud.tsdb import (
    StorageRefused,
    StorageRejected,
    StorageUnavailable,
    TimeSeriesStore,
    open_store,
)
from bohsense.contracts.sdnotify import Notifier
from bohsense.contracts.timeutil import now_ns

__all__ = ["EXIT_CONFIG", "EXIT_FAILED", "EXIT_OK", "EXIT_STARTUP", "CloudService", "bind_api"]

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 78  # sysexits.h EX_CONFIG: the unit's RestartPreventExitStatus
EXIT_STARTUP = 3

#: how long READY=1 waits for ingest to subscribe once the API serves
READY_WAIT_S = 10.0


class _CannotStart(Exception):
    """A start-up failure with its one-line reason and exit code."""

    def __init__(self, reason: str, code: int) -> None:
        super().__init__(reason)
        self.code = code


class _Stopped(CloudError):
    """Stopped (SIGTERM) while waiting for a dependency at start: a clean exit."""


def _masked(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: say nothing of it
        return "(the configured URL)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def bind_api(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound now (``port`` 0 picks a free one)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise _CannotStart(f"the API cannot listen on {host}:{port}: {exc}", EXIT_STARTUP) from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise _CannotStart(f"the API cannot listen on {host}:{port}: {exc}", EXIT_STARTUP) from exc
    sock.setblocking(False)
    return sock


def _server_class() -> Any:
    import uvicorn

    class _Server(uvicorn.Server):
        """uvicorn without its own signal handling: the service owns SIGTERM."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return _Server


class CloudService:
    def __init__(self, settings: CloudSettings, *, notifier: Notifier | None = None) -> None:
        self.settings = settings
        self.notifier = notifier if notifier is not None else Notifier()
        self.store: TimeSeriesStore | None = None
        self.core: Any = None  # bohsense.cloud.boh.BohCore
        self.worker: IngestWorker | None = None
        self.server: Any = None  # uvicorn.Server
        self.scheduler = Scheduler()
        self.ready = asyncio.Event()  # API listening and store open
        self.api_port: int | None = None
        #: what the API answers before the store and the database are open
        self.starting = StartingApp()

    def stats(self) -> dict[str, Any]:
        """Ingest counters and, under ``problems``, why the pipeline is not working (``/health``)."""
        if self.worker is None:
            return {}
        return {**self.worker.stats.as_dict(), "problems": self.worker.problems()}

    async def _open_store(self, stop: asyncio.Event) -> TimeSeriesStore:
        shown = mask_url(self.settings.tsdb_url)
        try:
            store = open_store(self.settings.tsdb_url)
        except ValueError:  # the settings check the URL first: this is a safety net (its text has the URL)
            raise _CannotStart(
                f"tsdb_url (BOHSENSE_CLOUD_TSDB_URL) {shown} is not a usable time-series URL", EXIT_CONFIG
            ) from None
        backoff = Backoff(0.2, 5.0)
        while True:
            try:
                await store.setup()
                return store
            except (StorageRejected, StorageRefused) as exc:
                await store.close()
                raise _CannotStart(
                    f"the time-series store {shown} refused the service"
                    f" (check tsdb_url's credentials, BOHSENSE_CLOUD_TSDB_URL): {_first_line(exc)}",
                    EXIT_CONFIG,
                ) from None
            except StorageUnavailable as exc:
                log.warning("time-series store not reachable yet: %s", exc)
                self._status(f"starting: waiting for the time-series store {shown}")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff.next()):
                        await stop.wait()
                if stop.is_set():
                    await store.close()
                    raise

    def _status(self, text: str) -> None:
        """What start-up is doing: to systemd's STATUS= and to the API's ``/readyz``."""
        self.notifier.status(text)
        self.starting.detail = text

    def _schedule(self, core: Any) -> None:
        """Register the time-driven jobs (``scheduler.register_core_jobs``)."""
        register_core_jobs(self.scheduler, core, self.settings, listening_since_ns=now_ns())

    async def _open_core(self, stop: asyncio.Event) -> Any:
        """The BOH core, migrated; a database not reachable yet is retried with back-off
        (one warning per attempt, the URL's password masked) until it is, or ``stop``."""
        from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

        backoff = Backoff(0.2, 5.0)
        while True:
            self._status(f"starting: migrating the BOH database {_masked(self.settings.database_url)}")
            try:
                return await asyncio.to_thread(self._build_core)
            except (ArgumentError, ImportError) as exc:  # no such dialect or driver
                self._close_failed_core()
                raise _CannotStart(
                    f"database_url (BOHSENSE_CLOUD_DATABASE_URL) {_masked(self.settings.database_url)}"
                    f" cannot be used: {_first_line(exc)}",
                    EXIT_CONFIG,
                ) from None
            except (OperationalError, InterfaceError) as exc:
                self._close_failed_core()
                reason = _first_line(exc.orig if exc.orig is not None else exc)
                log.warning(
                    "BOH database %s not reachable yet: %s", _masked(self.settings.database_url), reason
                )
                self._status(
                    f"starting: waiting for the BOH database {_masked(self.settings.database_url)}: {reason}"
                )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff.next()):
                        await stop.wait()
                if stop.is_set():
                    raise _Stopped(
                        f"the BOH database {_masked(self.settings.database_url)}: {reason}"
                    ) from None

    def _close_failed_core(self) -> None:
        core, self.core = self.core, None
        if core is not None:
            with contextlib.suppress(Exception):
                core.close()

    def _build_core(self) -> Any:
        from bohsense.cloud.boh import BohCore, CatalogError, ModelError, ModelRegistry, StockSettings

        try:
            models = ModelRegistry.load(self.settings.detector_models)
        except ModelError as exc:
            raise _CannotStart(f"the detector models cannot be loaded: {exc}", EXIT_CONFIG) from exc
        log.info(
            "detector models loaded",
            extra={"models": ", ".join(f"{m.ref} ({m.sha256[:12]})" for m in models.models.values())},
        )
        core = BohCore(
            self.settings.database_url,
            quarantine_quota=self.settings.quarantine_quota,
            auto_register=self.settings.auto_register_gateways,
            escalation_after_s=self.settings.escalation_after_s(),
            proposal_policy=self.settings.proposal_policy(),
            webhooks=self.settings.webhook_config(),
            stock_settings=StockSettings(**self.settings.stock_settings()),
            alert_policy=self.settings.alert_policy(),
            models=models,
        )
        self.core = core
        core.migrate()
        if self.settings.catalog is not None:
            try:
                summary = core.load_catalog(self.settings.catalog)
            except (CatalogError, OSError) as exc:
                raise _CannotStart(
                    f"the catalog {self.settings.catalog} cannot be loaded: {exc}", EXIT_CONFIG
                ) from exc
            log.info("catalog loaded", extra={"catalog": str(self.settings.catalog), "summary": str(summary)})
        return core

    async def run(self, stop: asyncio.Event | None = None, *, install_signal_handlers: bool = False) -> int:
        """Serve until ``stop``; return the process exit code (0 after a clean stop)."""
        import uvicorn

        from bohsense.cloud.api import FeedConfig, close_feeds, configure_feeds, create_app

        s = self.settings
        stop = stop if stop is not None else asyncio.Event()
        loop = asyncio.get_running_loop()
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            loop.add_signal_handler(signal.SIGHUP, self._hangup)
        exit_code = EXIT_OK
        sock: socket.socket | None = None
        api_task: asyncio.Task[Any] | None = None
        try:
            try:
                sock = bind_api(s.api_host, s.api_port)
                self.api_port = sock.getsockname()[1]
                # the API serves from now on: liveness at once, readiness saying what start-up
                # waits for; the real routes once the store and the database are open
                config = uvicorn.Config(self.starting, log_config=None, access_log=False, lifespan="off")
                self.server = _server_class()(config)
                api_task = asyncio.create_task(self.server.serve(sockets=[sock]), name="api")
                # uvicorn exposes no "started" event, only the flag
                while not self.server.started and not api_task.done():  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
                if not self.server.started:
                    failed = api_task.exception() if not api_task.cancelled() else None
                    log.error("cannot start: the API did not start: %r", failed)
                    return EXIT_STARTUP
                try:
                    self.store = await self._open_store(stop)
                except StorageUnavailable as unavailable:
                    raise _Stopped(str(unavailable)) from None
                self.starting.checks["tsdb"] = True
                self.core = await self._open_core(stop)
                self.starting.checks["database"] = True
                _attach_sites(self.store, self.core, trust_claims=s.auto_register_gateways)
            except _CannotStart as failure:
                log.error("cannot start: %s", failure)
                return failure.code
            except _Stopped as why:
                self.notifier.stopping(f"stopping: stopped while waiting for {why}")
                log.info("stopped while starting: still waiting for %s", why)
                return EXIT_OK
            self.worker = IngestWorker(self.store, self.core, s.ingest_config(), recorder=self.core)
            self._schedule(self.core)
            self.scheduler.add("alert-notices", s.alert_notices_s, self.worker.publish_alert_notices)
            token = s.api_token.get_secret_value() if s.api_token is not None else None
            app = create_app(
                core=self.core,
                tsdb=self.store,
                stats=self.stats,
                api_token=token,
                send_command=self.worker.send_command,
                max_body_bytes=s.api_max_body_bytes,
                command_max_bytes=s.command_max_bytes,
                identity=s.identity_config(),
            )
            configure_feeds(
                app,
                FeedConfig(
                    poll_s=s.feed_poll_s, heartbeat_s=s.feed_heartbeat_s, queue_size=s.feed_queue_size
                ),
            )
            if s.broker_passwd_file is not None and s.broker_acl_file is not None:  # store commissioning
                app.state.broker_files = (s.broker_passwd_file, s.broker_acl_file)
            self.starting.serve(app)
            worker_task = asyncio.create_task(self.worker.run(stop), name="ingest")
            scheduler_task = asyncio.create_task(self.scheduler.run(stop), name="scheduler")
            parts = (worker_task, api_task, scheduler_task)
            self.ready.set()
            log.info(
                "cloud service running",
                extra={"api": f"http://{s.api_host}:{self.api_port}", "tsdb": self.store.description},
            )
            stopper = asyncio.create_task(stop.wait(), name="stop")
            notices = asyncio.create_task(self._notify_running(parts, stop), name="sd-notify")
            done, _ = await asyncio.wait({*parts, stopper}, return_when=asyncio.FIRST_COMPLETED)
            notices.cancel()
            self.notifier.stopping("stopping: committing what was collected, closing the API")
            for task in done - {stopper}:
                exc = task.exception()
                if exc is None and stop.is_set():
                    continue  # it saw the stop first
                log.error("%s ended unexpectedly: %r", task.get_name(), exc)
                # another worker holds this client id: a configuration error, restarting cannot fix it
                exit_code = EXIT_CONFIG if isinstance(exc, ClientIdInUse) else EXIT_FAILED
            stop.set()
            await close_feeds(app)  # never-ending answers would hold uvicorn's shutdown
            self.server.should_exit = True
            pending = [t for t in (worker_task, api_task, scheduler_task) if not t.done()]
            if pending:
                _, late = await asyncio.wait(pending, timeout=s.shutdown_timeout_s)
                for task in late:
                    log.warning(
                        "%s did not stop within %.0f s; cancelling", task.get_name(), s.shutdown_timeout_s
                    )
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            stopper.cancel()
        finally:
            if api_task is not None and not api_task.done():  # stopped or failed while starting
                self.server.should_exit = True
                await asyncio.wait([api_task], timeout=s.shutdown_timeout_s)
            if sock is not None:
                sock.close()
            if install_signal_handlers:
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    loop.remove_signal_handler(sig)
            if self.store is not None:
                await self.store.close()
            if self.core is not None:
                await asyncio.to_thread(self.core.close)
            self.ready.clear()
        log.info("cloud service stopped", extra={"ingest": self.stats()})
        return exit_code

    def status_text(self) -> str:
        """One line for ``systemctl status``: the API, ingest's state and counts."""
        api = f"API on {self.settings.api_host}:{self.api_port}"
        if self.worker is None:
            return f"{api}; ingest not started"
        stats = self.worker.stats.as_dict()
        problems = self.worker.problems()
        state = "ingest subscribed" if self.worker.stats.subscribed else "ingest not subscribed"
        counts = ", ".join(
            f"{k} {stats[k]}" for k in ("messages", "readings_stored", "duplicates", "quarantined")
        )
        text = f"{api}; {state}" + (f"; {counts}" if counts else "")
        return text + (f"; {problems[0]}" if problems else "")

    async def _notify_running(self, parts: tuple[asyncio.Task[Any], ...], stop: asyncio.Event) -> None:
        """READY=1 (once subscribed, or after ``READY_WAIT_S``), then STATUS= every few
        seconds and WATCHDOG=1 at its interval while every part runs and the loop turns."""
        assert self.worker is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_WAIT_S
        while not self.worker.stats.subscribed and loop.time() < deadline and not stop.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if stop.is_set():
            return  # stopped before it was ready: STOPPING=1 follows, never READY=1
        self.notifier.ready(self.status_text())
        interval = self.notifier.ping_interval_s
        tick = min(interval, 5.0) if interval is not None else 5.0
        last_status = loop.time()
        while True:
            if all(not t.done() for t in parts):
                self.notifier.watchdog()
            if loop.time() - last_status >= 5.0:
                last_status = loop.time()
                self.notifier.status(self.status_text())
            await asyncio.sleep(tick)

    def _hangup(self) -> None:
        log.warning(
            "SIGHUP: nothing reloaded; the cloud service reads its settings at start only (restart it to apply)"
        )


def _attach_sites(store: TimeSeriesStore, core: Any, *, trust_claims: bool) -> None:
    """Give an InfluxDB store the catalog's gateway → site mapping for its ``site`` tag
    (a gateway's claimed site counts only in auto-register mode)."""
    from bohsense.cloud.tsdb import SiteCache

    if hasattr(store, "sites"):
        sites = SiteCache(lambda: {g.id: g.site for g in core.list_gateways()}, trust_claims=trust_claims)
        setattr(store, "sites", sites)  # noqa: B010
