"""Running the nightly plan's partitions: in this process, on a pool of local processes
(the default: every core), or on a Dask ``distributed`` cluster.

Two kinds of task, one per partition:

- ``plan_store``: one store's series, already read here (a single history file);
- ``plan_file``: one history file of a directory, read and parsed where the task runs, with
  the stock file of the same name (so the machine that starts the run reads nothing but
  the file names, and a cluster's workers share the parsing).

Every way runs the same functions on the same partitions and puts the stores' lines
together in store order, so the output does not depend on where or in which order the
tasks ran. Progress (partitions done, pairs done, elapsed) goes to ``progress``.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

from bohsense.models.forecast import HistoryError, read_history

from ._errors import ReplenishError
from ._plan import Partition, PlanConfig, StockError, partition, plan_store, read_stock

__all__ = ["FileTask", "default_workers", "plan_file", "run_dask", "run_local"]

Progress = Callable[[str], None]
T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class FileTask:
    """One history file of a directory, with its stock file (None: the defaults)."""

    history: str
    stock: str | None
    fill_gaps: bool = False


def plan_file(task: FileTask, config: PlanConfig) -> dict[str, list[str]]:
    """Each store's lines of one history file; errors name the file and its line."""
    try:
        stock = read_stock(task.stock, config.defaults) if task.stock else None
        known = None if stock is None else (lambda item, store: (item, store) in stock)
        series = read_history(task.history, fill_gaps=task.fill_gaps, known=known)
    except HistoryError as exc:
        raise HistoryError(f"{task.history}: {exc}") from None
    if stock is not None:
        have = {s.key for s in series}
        for line, key in enumerate(stock, start=2):
            if key not in have:
                raise StockError(f"{task.stock}: line {line}: {key[0]} at {key[1]} has no demand history")
    return {p.store_id: plan_store(p, config) for p in partition(series, stock, config.defaults)}


class _Tracker:
    def __init__(self, parts: int, progress: Progress | None) -> None:
        self.parts, self.done, self.pairs = parts, 0, 0
        self.progress = progress
        self.start = time.perf_counter()
        self._last = 0.0

    def finished(self, pairs: int) -> None:
        self.done += 1
        self.pairs += pairs
        now = time.perf_counter()
        if self.progress and (now - self._last > 2.0 or self.done == self.parts):
            self._last = now
            rate = self.pairs / (now - self.start) if now > self.start else 0.0
            self.progress(
                f"{self.done}/{self.parts} partitions, {self.pairs} pairs, {now - self.start:.1f} s ({rate:.0f} pairs/s)"
            )


def _count(result: object) -> int:
    if isinstance(result, dict):
        return sum(len(v) for v in result.values())
    return len(result) if isinstance(result, list) else 0


def map_local(
    fn: Callable[[T, PlanConfig], R],
    items: Sequence[T],
    config: PlanConfig,
    workers: int,
    progress: Progress | None = None,
) -> list[R]:
    """``fn(item, config)`` for every item, in item order; ``workers`` 1 runs here."""
    if workers < 1:
        raise ReplenishError(f"--workers {workers} must be at least 1")
    track = _Tracker(len(items), progress)
    if workers == 1 or len(items) <= 1:
        out = []
        for item in items:
            out.append(fn(item, config))
            track.finished(_count(out[-1]))
        return out
    results: dict[int, R] = {}
    with ProcessPoolExecutor(max_workers=min(workers, len(items))) as pool:
        pending: dict[Future[R], int] = {pool.submit(fn, item, config): i for i, item in enumerate(items)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                i = pending.pop(f)
                results[i] = f.result()
                track.finished(_count(results[i]))
    return [results[i] for i in range(len(items))]


def map_dask(
    fn: Callable[[T, PlanConfig], R],
    items: Sequence[T],
    config: PlanConfig,
    *,
    address: str | None = None,
    local_workers: int = 0,
    connect_timeout: float = 20.0,
    progress: Progress | None = None,
) -> list[R]:
    """``fn(item, config)`` for every item, in item order, on the Dask scheduler at
    ``address`` (its workers must have bohsense-models installed), or on a new local
    cluster of ``local_workers`` single-threaded worker processes. ``connect_timeout``:
    seconds to reach the scheduler."""
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
    track = _Tracker(len(items), progress)
    results: dict[int, R] = {}
    try:
        futures = [
            client.submit(
                fn, item, config, key=f"bohsense-plan-{os.getpid()}-{time.time_ns()}-{i}", pure=False
            )
            for i, item in enumerate(items)
        ]
        index = {f.key: i for i, f in enumerate(futures)}
        for f in distributed.as_completed(futures):
            i = index[f.key]
            results[i] = f.result()
            track.finished(_count(results[i]))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return [results[i] for i in range(len(items))]


def _by_size(parts: Sequence[Partition]) -> list[Partition]:
    # the biggest stores first, so that the last task to start is a small one
    return sorted(parts, key=lambda p: (-len(p.series), p.store_id))


def _assemble(parts: Sequence[Partition], results: Sequence[list[str]]) -> list[str]:
    lines = {p.store_id: r for p, r in zip(parts, results, strict=True)}
    return [line for store in sorted(lines) for line in lines[store]]


def run_local(
    parts: Sequence[Partition], config: PlanConfig, workers: int, progress: Progress | None = None
) -> list[str]:
    """The plan's lines of read partitions, in store order."""
    order = _by_size(parts)
    return _assemble(order, map_local(plan_store, order, config, workers, progress))


def run_dask(
    parts: Sequence[Partition],
    config: PlanConfig,
    *,
    address: str | None = None,
    local_workers: int = 0,
    connect_timeout: float = 20.0,
    progress: Progress | None = None,
) -> list[str]:
    """As ``run_local``, on Dask (see ``map_dask``)."""
    order = _by_size(parts)
    results = map_dask(
        plan_store, order, config, address=address, local_workers=local_workers,
        connect_timeout=connect_timeout, progress=progress,
    )  # fmt: skip
    return _assemble(order, results)


def assemble_files(tasks: Sequence[FileTask], results: Sequence[dict[str, list[str]]]) -> list[str]:
    """The stores of every file in store order; a store in two files is refused (a store
    is one partition: its classes are ranked within it)."""
    seen: dict[str, str] = {}
    lines: dict[str, list[str]] = {}
    for task, result in zip(tasks, results, strict=True):
        for store, rows in result.items():
            if store in seen:
                raise ReplenishError(
                    f"store {store} is in {seen[store]} and in {task.history}: a store's rows must be in one file"
                )
            seen[store] = task.history
            lines[store] = rows
    return [line for store in sorted(lines) for line in lines[store]]
