"""Fuzzing the point-of-sale feed, ``POST /api/v1/pos/transactions``: its request model
(``BatchIn``: strict types, lengths, patterns, unknown fields refused), its time parser
(ISO 8601 or integer ns) and the core's checks of each line, through the real app on a
real BOH core (SQLite) with a stock catalog.

Documented behaviour (``routers/pos.py``): a batch is taken whole or not at all; anything
malformed or refused is answered 422 as problem+json naming the field; never a 500. So:
every answer is 200 (then a result per transaction) or a 4xx problem, and a refused batch
changes nothing (the ledger is as long as before).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import strategies as st

from bohsense.cloud.api import create_app
from bohsense.cloud.boh import BohCore
from tests.cloud.api.conftest import FakeTimeSeries
from tests.cloud.boh.factory import SITE
from tests.cloud.boh.test_stock_truth import LOC, stock_catalog
from tests.fuzz._budget import both, mutated

#: every example is a request through the app into a real core (~10 ms, against ~0.1 ms for
#: the byte decoders): a third of their budget keeps the set's run time
EXAMPLES = 100

URL = "/api/v1/pos/transactions"
LINE = {"sku": "COLA", "quantity": 2, "location": LOC}
TXN = {
    "txn_id": "t-1",
    "kind": "receipt",
    "site": SITE,
    "occurred_at": "2026-12-01T10:00:00Z",
    "lines": [LINE],
}
VALID = {
    "sender": "till-1",
    "transactions": [TXN, {**TXN, "txn_id": "t-2", "kind": "sale", "occurred_at": 1}],
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, BohCore]]:
    """One app for every example: what an accepted batch changes stays (as in production)."""
    boh = BohCore(f"sqlite:///{tmp_path_factory.mktemp('pos') / 'pos.db'}")
    boh.migrate()
    boh.load_catalog(stock_catalog())
    app = create_app(core=boh, tsdb=FakeTimeSeries(), stats=dict)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, boh
    boh.close()


def _newest(core: BohCore) -> int:
    found = core.ledger(limit=1)
    return found[0].id if found else 0


def _post(served: tuple[TestClient, BohCore], body: bytes) -> None:
    client, core = served
    before = _newest(core)
    r = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert r.status_code < 500, (r.status_code, r.text, body[:300])
    if r.status_code == 200:
        out = r.json()
        assert len(out["results"]) == out["applied"] + out["duplicates"]
        return
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    problem = r.json()
    assert problem["status"] == r.status_code
    assert _newest(core) == before, "a refused batch changes nothing"


def _random(served: tuple[TestClient, BohCore], body: bytes) -> None:
    _post(served, body)


test_random_bodies, test_random_bodies_long = both(_random, EXAMPLES, body=st.binary(max_size=300))


def _mutated(served: tuple[TestClient, BohCore], body: bytes) -> None:
    _post(served, body)


test_mutated_bodies, test_mutated_bodies_long = both(
    _mutated, EXAMPLES, body=mutated(st.just(json.dumps(VALID).encode()))
)

_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(
        ["", "0", "-1", "9" * 30, "2026-12-01T10:00:00", "2026-13-45T99:00:00Z", "\x00", "1e309"]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(VALID)


def _any_value(served: tuple[TestClient, BohCore], where: int, value: Any, txn_id: str) -> None:
    doc = json.loads(json.dumps(VALID))
    doc["transactions"][0]["txn_id"] = txn_id or "t"
    path = PATHS[where % len(PATHS)]
    if path:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    else:
        doc = value
    _post(served, json.dumps(doc, allow_nan=True).encode())


test_any_value_anywhere, test_any_value_anywhere_long = both(
    _any_value, EXAMPLES, where=st.integers(min_value=0), value=_VALUE, txn_id=st.text(min_size=1, max_size=8)
)


@pytest.mark.parametrize("at", [2**63, 2**80, -(2**80), -1])
def test_an_integer_time_beyond_64_bits_or_negative_is_a_422_naming_it(
    served: tuple[TestClient, BohCore], at: int
) -> None:
    """Found by the fuzzing: an integer ``occurred_at`` beyond 64 bits went past the model
    (StrictInt has no range) to the database, which failed with a 500."""
    client, core = served
    doc = json.loads(json.dumps(VALID))
    doc["transactions"][1]["occurred_at"] = at
    before = _newest(core)
    r = client.post(URL, json=doc)
    assert r.status_code == 422, r.text
    assert "transactions[1].occurred_at" in r.json()["detail"]
    assert "out of range" in r.json()["detail"]
    assert _newest(core) == before
