"""The nightly plan on a multi-process Dask cluster gives the single-machine run's bytes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.models.demand import rows, write

distributed = pytest.importorskip("distributed")  # a dev dependency: always there in the test runs

STORES = ("CA_1", "CA_2", "TX_1", "TX_2", "TX_3")


def _plan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bohsense", "replenish", "plan", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_dask_cluster_and_local_processes_give_the_same_bytes(tmp_path: Path, scheduler: str) -> None:
    hist = write(tmp_path / "h.csv", rows(days=200, stores=STORES))
    stock = tmp_path / "stock.csv"
    stock.write_text(
        "item_id,store_id,on_hand,on_order,pack_size,order_cost,holding_cost\n"
        + "".join(
            f"{item},{store},{k},{k % 3},{1 + k % 4},{5 * (k % 2)},1.5\n"
            for k, (item, store) in enumerate(
                (i, s) for s in STORES for i in ("FOODS_1_001", "HOBBIES_1_002")
            )
        )
    )
    args = ("--history", str(hist), "--stock", str(stock), "--order-days", "Mon|Wed|Fri")
    single = _plan(*args, "--workers", "1")
    assert single.returncode == 0, single.stderr
    assert len(single.stdout.splitlines()) == 1 + 2 * len(STORES)
    on_cluster = _plan(*args, "--dask", scheduler)
    assert on_cluster.returncode == 0, on_cluster.stderr
    assert f"planning on Dask at {scheduler}" in on_cluster.stderr
    assert on_cluster.stdout.encode() == single.stdout.encode()
    with distributed.Client(scheduler) as client:  # two worker processes, as the run had
        assert len(client.scheduler_info()["workers"]) == 2
    # one history file per store, each read on the worker that plans it
    folder = tmp_path / "by_store"
    folder.mkdir()
    lines = hist.read_text().splitlines()
    for store in STORES:
        write(
            folder / f"{store}.csv.gz",
            [lines[0], *(x for x in lines[1:] if x.split(",")[2] == store)],
            gz=True,
        )
    stocks = tmp_path / "stocks"
    stocks.mkdir()
    head, *body = stock.read_text().splitlines()
    for store in STORES:
        (stocks / f"{store}.csv").write_text(
            "\n".join([head, *(x for x in body if x.split(",")[1] == store)]) + "\n"
        )
    files = _plan("--history", str(folder), "--stock", str(stocks), *args[4:], "--dask", scheduler)
    assert files.returncode == 0, files.stderr
    assert files.stdout.encode() == single.stdout.encode()


@pytest.mark.long  # starts a dask LocalCluster of its own (~15 s); the cluster test above runs by default
def test_a_new_local_cluster_and_an_unreachable_scheduler(tmp_path: Path) -> None:
    hist = write(tmp_path / "h.csv", rows(days=60, stores=STORES[:2]))
    single = _plan("--history", str(hist), "--workers", "1")
    local = _plan("--history", str(hist), "--dask-local", "2")
    assert local.returncode == 0, local.stderr
    assert local.stdout == single.stdout
    assert "INFO" not in local.stderr  # the in-process scheduler's chatter is not progress
    gone = _plan("--history", str(hist), "--dask", "tcp://127.0.0.1:9", "--dask-timeout", "2")
    assert gone.returncode == 2
    assert gone.stdout == ""
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in gone.stderr
