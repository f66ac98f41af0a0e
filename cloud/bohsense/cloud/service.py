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
2     invalid settings or catalog (``bohsense cloud run`` checks settings)    no
3     cannot start: the API cannot listen on its address (port taken, …)      yes
====  ======================================================================  =========

A start-up failure is one ``ERROR`` log line (``cannot start: …``), no traceback. A
dependency that is not reachable yet (the time-series store, the BOH database) is waited
for with back-off, one ``WARNING`` line per attempt naming it (passwords masked); a stop
while waiting is a clean exit (0) with one line saying what it was still waiting for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from typing import Any

from bohsense.cloud.errors import CloudError
from bohsense.cloud.ingest import Backoff, ClientIdInUse, IngestWorker
from bohsense.cloud.scheduler import Scheduler, register_core_jobs
from bohsense.cloud.settings import CloudSettings
from bohsense.cloud.tsdb import StorageUnavailable, TimeSeriesStore, open_store
from bohsense.contracts.timeutil import now_ns

__all__ = ["EXIT_CONFIG", "EXIT_FAILED", "EXIT_OK", "EXIT_STARTUP", "CloudService", "bind_api"]

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_STARTUP = 3


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
    def __init__(self, settings: CloudSettings) -> None:
        self.settings = settings
        self.store: TimeSeriesStore | None = None
        self.core: Any = None  # bohsense.cloud.boh.BohCore
        self.worker: IngestWorker | None = None
        self.server: Any = None  # uvicorn.Server
        self.scheduler = Scheduler()
        self.ready = asyncio.Event()  # API listening and store open
        self.api_port: int | None = None

    def stats(self) -> dict[str, Any]:
        """Ingest counters and, under ``problems``, why the pipeline is not working (``/health``)."""
        if self.worker is None:
            return {}
        return {**self.worker.stats.as_dict(), "problems": self.worker.problems()}

    async def _open_store(self, stop: asyncio.Event) -> TimeSeriesStore:
        store = open_store(self.settings.tsdb_url)
        backoff = Backoff(0.2, 5.0)
        while True:
            try:
                await store.setup()
                return store
            except StorageUnavailable as exc:
                log.warning("time-series store not reachable yet: %s", exc)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff.next()):
                        await stop.wait()
                if stop.is_set():
                    await store.close()
                    raise

    def _schedule(self, core: Any) -> None:
        """Register the time-driven jobs (``scheduler.register_core_jobs``)."""
        register_core_jobs(self.scheduler, core, self.settings, listening_since_ns=now_ns())

    async def _open_core(self, stop: asyncio.Event) -> Any:
        """The BOH core, migrated; a database not reachable yet is retried with back-off
        (one warning per attempt, the URL's password masked) until it is, or ``stop``."""
        from sqlalchemy.exc import InterfaceError, OperationalError

        backoff = Backoff(0.2, 5.0)
        while True:
            try:
                return await asyncio.to_thread(self._build_core)
            except (OperationalError, InterfaceError) as exc:
                self._close_failed_core()
                reason = _first_line(exc.orig if exc.orig is not None else exc)
                log.warning(
                    "BOH database %s not reachable yet: %s", _masked(self.settings.database_url), reason
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

        from bohsense.cloud.api import create_app

        s = self.settings
        stop = stop if stop is not None else asyncio.Event()
        loop = asyncio.get_running_loop()
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
        exit_code = EXIT_OK
        sock: socket.socket | None = None
        try:
            try:
                sock = bind_api(s.api_host, s.api_port)
                self.api_port = sock.getsockname()[1]
                try:
                    self.store = await self._open_store(stop)
                except StorageUnavailable as unavailable:
                    raise _Stopped(str(unavailable)) from None
                self.core = await self._open_core(stop)
            except _CannotStart as failure:
                log.error("cannot start: %s", failure)
                return failure.code
            except _Stopped as why:
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
            )
            if s.broker_passwd_file is not None and s.broker_acl_file is not None:  # store commissioning
                app.state.broker_files = (s.broker_passwd_file, s.broker_acl_file)
            config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
            self.server = _server_class()(config)
            api_task = asyncio.create_task(self.server.serve(sockets=[sock]), name="api")
            # uvicorn exposes no "started" event, only the flag
            while not self.server.started and not api_task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            if not self.server.started:
                failed = api_task.exception() if not api_task.cancelled() else None
                log.error("cannot start: the API did not start: %r", failed)
                return EXIT_STARTUP
            worker_task = asyncio.create_task(self.worker.run(stop), name="ingest")
            scheduler_task = asyncio.create_task(self.scheduler.run(stop), name="scheduler")
            self.ready.set()
            log.info(
                "cloud service running",
                extra={"api": f"http://{s.api_host}:{self.api_port}", "tsdb": self.store.description},
            )
            stopper = asyncio.create_task(stop.wait(), name="stop")
            done, _ = await asyncio.wait(
                {worker_task, api_task, scheduler_task, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done - {stopper}:
                exc = task.exception()
                if exc is None and stop.is_set():
                    continue  # it saw the stop first
                log.error("%s ended unexpectedly: %r", task.get_name(), exc)
                # another worker holds this client id: a configuration error, restarting cannot fix it
                exit_code = EXIT_CONFIG if isinstance(exc, ClientIdInUse) else EXIT_FAILED
            stop.set()
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
            if sock is not None:
                sock.close()
            if install_signal_handlers:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            if self.store is not None:
                await self.store.close()
            if self.core is not None:
                await asyncio.to_thread(self.core.close)
            self.ready.clear()
        log.info("cloud service stopped", extra={"ingest": self.stats()})
        return exit_code
