"""Running the nightly plan's store partitions: in this process, on a pool of local
processes (the default: every core), or on a Dask ``distributed`` cluster.

Every way runs the same function on the same partitions (``plan_store``, one task per
store) and puts the stores' lines together in store order, so the output does not depend
on where or in which order the tasks ran. Progress (stores done, pairs done, elapsed) goes
to ``progress``.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from ._errors import ReplenishError
from ._plan import Partition, PlanConfig, plan_store

__all__ = ["default_workers", "run_dask", "run_local"]

Progress = Callable[[str], None]


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _Tracker:
    def __init__(self, parts: Sequence[Partition], progress: Progress | None) -> None:
        self.total_pairs = sum(len(p.series) for p in parts)
        self.stores, self.pairs = len(parts), 0
        self.done = 0
        self.progress = progress
        self.start = time.perf_counter()
        self._last = 0.0

    def finished(self, part: Partition) -> None:
        self.done += 1
        self.pairs += len(part.series)
        now = time.perf_counter()
        if self.progress and (now - self._last > 2.0 or self.done == self.stores):
            self._last = now
            rate = self.pairs / (now - self.start) if now > self.start else 0.0
            self.progress(
                f"{self.done}/{self.stores} stores, {self.pairs}/{self.total_pairs} pairs,"
                f" {now - self.start:.1f} s ({rate:.0f} pairs/s)"
            )


def _assemble(parts: Sequence[Partition], lines: dict[str, list[str]]) -> list[str]:
    return [line for p in parts for line in lines[p.store_id]]


def run_local(
    parts: Sequence[Partition], config: PlanConfig, workers: int, progress: Progress | None = None
) -> list[str]:
    """The plan's lines; ``workers`` 1 runs in this process, more on a process pool."""
    if workers < 1:
        raise ReplenishError(f"--workers {workers} must be at least 1")
    track = _Tracker(parts, progress)
    lines: dict[str, list[str]] = {}
    if workers == 1 or len(parts) <= 1:
        for p in parts:
            lines[p.store_id] = plan_store(p, config)
            track.finished(p)
        return _assemble(parts, lines)
    # the biggest stores first, so that the last task to start is a small one
    order = sorted(parts, key=lambda p: -len(p.series))
    with ProcessPoolExecutor(max_workers=min(workers, len(parts))) as pool:
        pending: dict[Future[list[str]], Partition] = {pool.submit(plan_store, p, config): p for p in order}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                p = pending.pop(f)
                lines[p.store_id] = f.result()
                track.finished(p)
    return _assemble(parts, lines)


def run_dask(
    parts: Sequence[Partition],
    config: PlanConfig,
    *,
    address: str | None = None,
    local_workers: int = 0,
    connect_timeout: float = 20.0,
    progress: Progress | None = None,
) -> list[str]:
    """The plan's lines, computed on the Dask scheduler at ``address`` (its workers must
    have bohsense-models installed), or on a new local cluster of ``local_workers``
    single-threaded worker processes. ``connect_timeout``: seconds to reach the scheduler."""
    try:  # untyped: used through Any
        distributed: Any = importlib.import_module("distributed")
    except ImportError as exc:
        raise ReplenishError(
            f"Dask is not installed ({exc}): install bohsense-models[dask] to plan on a cluster"
        ) from None
    # the scheduler of a local cluster runs in this process: its INFO lines are not progress
    logging.getLogger("distributed").setLevel(logging.WARNING)
    cluster: Any = None
    if address is None:
        if local_workers < 1:
            raise ReplenishError(f"a local Dask cluster needs at least 1 worker, not {local_workers}")
        cluster = distributed.LocalCluster(
            n_workers=local_workers, threads_per_worker=1, processes=True,
            dashboard_address=":0", silence_logs=logging.CRITICAL,
        )  # fmt: skip
    try:
        client = distributed.Client(cluster if cluster is not None else address, timeout=connect_timeout)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ReplenishError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    track = _Tracker(parts, progress)
    lines: dict[str, list[str]] = {}
    try:
        order = sorted(parts, key=lambda p: -len(p.series))
        futures = [
            client.submit(plan_store, p, config, key=f"bohsense-plan-{i}-{p.store_id}", pure=False)
            for i, p in enumerate(order)
        ]
        by_key = {f.key: p for f, p in zip(futures, order, strict=True)}
        for f in distributed.as_completed(futures):
            p = by_key[f.key]
            lines[p.store_id] = f.result()
            track.finished(p)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return _assemble(parts, lines)
