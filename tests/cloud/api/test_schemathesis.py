"""schemathesis against the running API: uvicorn in its own process on a free port,
serving the app over the BOH core on SQLite and on PostgreSQL (whose 32-bit INTEGER ids
SQLite does not have; time series on SQLite), called over HTTP.

Every operation of the OpenAPI document is called with generated valid (positive) and
invalid (negative) requests, within a fixed budget of examples; every answer must be
documented (status code, content type, schema), invalid requests must be refused with a
4xx, and none may be a server error. Failures are collected over all operations and
reported together.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import positive_data_acceptance

from bohsense.cloud.boh import BohCore
from bohsense.cloud.ports import QuarantineItem
from bohsense.cloud.tsdb import SqliteStore
from bohsense.contracts.schema import GatewayStatus
from tests.support.services import free_port

from ..boh.factory import DURATION_S, GW, LANE_A, LIMIT, T0, batch, catalog, units, vib

ROOT = Path(__file__).resolve().parents[3]
#: examples per operation and mode: a fixed budget (~80 operations x 2 modes x this is
#: about half a minute per database on a quiet 2-core machine; `-m long` adds SQLite)
EXAMPLES = 5
TOKEN = "schemathesis-token-0123456789"
#: operations with rules across parameters or entries that a schema cannot state (a time
#: as ISO 8601 or ns, start before end, a range within the limit, a catalog entry naming a
#: site or SKU that exists, a target above a minimum, a GTIN's check digit, a zone listed
#: once, an inventory SKU filter naming a SKU with a GTIN): a well-formed request may be refused
#: with a documented 422
CROSS_FIELD_RULES = {
    "GET /api/v1/readings/series",
    "GET /api/v1/events",
    "GET /api/v1/inventory/zones",
    "GET /api/v1/inventory/departures",
    "PUT /api/v1/catalog/sites/{site_id}",
    "PUT /api/v1/catalog/skus/{sku}",
    "PUT /api/v1/catalog/gateways/{gateway_id}",
    "PUT /api/v1/catalog/assets/{asset_id}",
    "PUT /api/v1/catalog/locations",
    # a plan names a stock location that exists; a receipt of 0 units must be final
    "PUT /api/v1/replenishment/plans",
    "POST /api/v1/replenishment/{proposal_id}/receipts",
    # a range of times, a batch naming the catalog's sites, SKUs and locations
    "GET /api/v1/stock/outages",
    "GET /api/v1/stock/outages/totals",
    "GET /api/v1/stock/heatmap",
    "POST /api/v1/pos/transactions",
    # a hand-over sheet is a file: its sections, columns and references are checked inside it
    "POST /api/v1/commission/{site}/import",
    # a period: from and to as ISO 8601 or ns, from before to
    "GET /api/v1/alerts/export.csv",
    "GET /api/v1/work-orders/export.csv",
    "GET /api/v1/replenishment/export.csv",
    "GET /api/v1/stock/export.csv",
}

#: never-ending answers (Server-Sent Events): a call would not return; their refusals and
#: streams are tested over a real server in test_feeds.py
STREAMS = {"GET /api/v1/feeds/events"}


def _seed(database_url: str) -> None:
    core = BohCore(database_url)
    core.migrate()
    core.load_catalog(catalog())
    core.record_status(GatewayStatus(gateway=GW, state="online", ts=T0, version="0.1"))
    core.apply_batches([batch(1, [vib(t, LIMIT + 1) for t in range(0, DURATION_S + 1, 5)])])
    core.apply_batches([batch(2, [units(LANE_A, 2, 1)])])
    core.quarantine([QuarantineItem("bohsense/v1/gw/x/readings", b"\xff", "malformed", "bad", T0, "x")])
    core.close()


@contextlib.contextmanager
def _served(tmp_path: Path, database_url: str) -> Iterator[str]:
    """uvicorn serving the seeded database; its base URL."""
    _seed(database_url)
    SqliteStore(tmp_path / "ts.db")  # created here: the server only opens it
    port = free_port()
    env = {
        **os.environ,
        "BOHSENSE_TEST_DATABASE_URL": database_url,
        "BOHSENSE_TEST_TSDB": str(tmp_path / "ts.db"),
        "BOHSENSE_TEST_TOKEN": TOKEN,
    }
    log = (tmp_path / "uvicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "tests.cloud.api.served:make_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/v1/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"uvicorn did not start:\n{(tmp_path / 'uvicorn.log').read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _run(operation: APIOperation, mode: GenerationMode, calls: list[str]) -> str | None:
    """Generate and check ``EXAMPLES`` requests of one operation; the failure, if any."""
    excluded = [positive_data_acceptance] if operation.label in CROSS_FIELD_RULES else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples every run: a failure reproduces, CI is not a lottery
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        calls.append(operation.label)
        if mode is GenerationMode.POSITIVE and case.query:
            # a cursor is made by the server (a random one is refused, 422 invalid-cursor:
            # test_paging.py); the pages are walked from their Link headers there
            case.query.pop("cursor", None)
        case.call_and_validate(excluded_checks=excluded)

    try:
        check()
    except (Exception, BaseExceptionGroup) as exc:  # returned, and reported with the others
        return f"{operation.label} [{mode.value}]: {exc}"
    return None


#: PostgreSQL (production's database, 32-bit INTEGER ids) in every run; SQLite with `-m long`
@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.long), "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'boh.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def test_every_operation_answers_as_documented(tmp_path: Path, database_url: str) -> None:
    with _served(tmp_path, database_url) as base:
        _check_all(base, tmp_path)


def _check_all(base: str, tmp_path: Path) -> None:
    config = schemathesis.Config.from_dict({"auth": {"openapi": {"HTTPBearer": {"bearer": TOKEN}}}})
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", config=config)
    failures: list[str] = []
    calls: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in STREAMS:
            continue
        operations += 1
        raw = operation.definition.raw
        # an operation with no input (GET /health) has no invalid request to generate
        modes = [GenerationMode.POSITIVE]
        if raw.get("parameters") or raw.get("requestBody"):
            modes.append(GenerationMode.NEGATIVE)
        failures.extend(f for f in (_run(operation, mode, calls) for mode in modes) if f)
    assert operations >= 25
    assert len(set(calls)) == operations  # every operation was called
    assert len(calls) >= operations * 8
    server_log = (tmp_path / "uvicorn.log").read_text()
    assert not failures, "\n\n".join(failures) + f"\n\nserver log:\n{server_log}"
