"""Fuzzing MQTT ingest: hostile messages over the contract's types (boundary integers, lengths,
non-finite floats, wrong types, unknown fields, foreign gateways, raw bytes) through a real
Mosquitto into the worker and the real BOH core, on SQLite and PostgreSQL.

After every example a canary gateway's next batch must be applied and acknowledged: the
worker keeps serving other gateways, nothing raises out of the pipeline, no message is
taken for a failing database, and every rejection has a reason and a detail. The budget is
fixed (``derandomize``: the same examples every run), well under a minute in CI.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as paho
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bohsense.cloud.boh import BohCore
from bohsense.cloud.ingest import IngestWorker
from bohsense.cloud.tsdb import open_store
from bohsense.contracts.codec import encode
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import readings_topic
from tests.cloud.ingest._harness import config
from tests.cloud.tsdb._data import make_batch, unique
from tests.support.services import Mosquitto

INT64 = 2**63
BOUNDARY_INTS = [
    -(INT64 + 1),
    -INT64,
    -1,
    0,
    1,
    2**31,
    2**53,
    INT64 - 2,
    INT64 - 1,
    INT64,
    2**64 - 1,
    2**64,
    2**70,
]
BOUNDARY_STRS = [
    "",
    "a",
    "a" * 63,
    "a" * 64,
    "a" * 65,
    "a" * 128,
    "a" * 129,
    "a" * 1024,
    "a" * 1025,
    "../x",
    "a b",
    "é",
]

ints = st.one_of(st.sampled_from(BOUNDARY_INTS), st.integers(), st.integers(-10, 10))
strs = st.one_of(
    st.sampled_from(BOUNDARY_STRS),
    st.text(max_size=80),
    st.from_regex(r"[A-Za-z0-9_.:/\-]{1,130}", fullmatch=True),
)
floats = st.floats(allow_nan=True, allow_infinity=True)
scalars = st.one_of(ints, strs, floats, st.booleans(), st.none())


#: the budget: examples per database (each a few messages and a canary batch)
EXAMPLES = 80
#: fixed once, so that the strategies are the same for every example (hypothesis needs that)
NOW = now_ns()
#: stands for the example's own gateway id in drawn messages (replaced before sending)
OWN = "<own-gateway>"
#: event times: mostly plausible (now ± a day), or any of the integers
times = st.one_of(st.integers(NOW - 86_400 * 10**9, NOW + 86_400 * 10**9), ints)
gateways = st.one_of(st.just(OWN), st.just(OWN), strs)
# each field is often valid, so that messages get past the first check and reach deeper ones
valid_names = st.one_of(st.from_regex(r"[A-Za-z0-9_.:/\-]{1,20}", fullmatch=True), st.just("n" * 128))
names = st.one_of(valid_names, strs)
small = st.one_of(st.integers(0, 10**6), ints)
values = st.one_of(st.floats(-1e6, 1e6), floats)
times = st.one_of(st.integers(NOW - 3600 * 10**9, NOW), times)

readings = st.one_of(
    st.tuples(names, names, times, values).map(list),
    st.lists(scalars, max_size=5),  # wrong arity or types
)


batch = st.fixed_dictionaries(
    {"gateway": gateways, "seq": small, "sent": times, "readings": st.lists(readings, max_size=6)},
    optional={"floor": small, "site": strs, "v": st.one_of(st.just(1), ints), "zz": scalars},
)
# shaped like the contract, with hostile values where the contract allows them (event times,
# floats, boundary seqs and floors, long but valid names): these reach the BOH core
plausible_batch = st.fixed_dictionaries(
    {
        "gateway": st.just(OWN),
        "seq": st.one_of(st.integers(1, 10**6), st.sampled_from([1, 2**53, 2**63 - 2, 2**63 - 1])),
        "sent": times,
        "readings": st.lists(
            st.tuples(valid_names, valid_names, times, floats).map(list), min_size=1, max_size=6
        ),
    },
    optional={"floor": st.integers(0, 3), "site": st.text(max_size=64)},
)
batch = st.one_of(plausible_batch, plausible_batch, batch)
status = st.fixed_dictionaries(
    {"gateway": gateways, "state": st.sampled_from(["online", "offline", "lost", "gone"]), "ts": times},
    optional={"site": strs, "version": strs, "next_seq": small, "outbox_depth": small, "dropped": small, "zz": scalars},
)  # fmt: skip
plausible_status = st.fixed_dictionaries(
    {"gateway": st.just(OWN), "state": st.sampled_from(["online", "offline", "lost"]), "ts": times},
    optional={"site": st.text(max_size=64), "version": st.text(max_size=64), "next_seq": ints,
              "outbox_depth": ints, "dropped": ints},
)  # fmt: skip
status = st.one_of(plausible_status, plausible_status, status)
result = st.fixed_dictionaries(
    {"gateway": gateways, "id": strs, "command": strs, "ok": st.booleans(), "ts": times},
    optional={"reason": strs, "detail": strs, "zz": scalars},
)


def _encoded(body: Any, msgpack: bool) -> bytes:
    if msgpack:
        try:
            return msgspec.msgpack.encode(body)
        except OverflowError:  # MessagePack holds 64 bits at most: send that one as JSON
            pass
    return msgspec.json.encode(body)


@st.composite
def message(draw: st.DrawFn) -> tuple[str, bytes | dict[str, Any], bool]:
    """(topic kind, payload bytes or a body to encode, whether to encode it as MessagePack)."""
    kind = draw(st.sampled_from(["readings", "status", "result"]))
    if draw(st.integers(0, 9)) == 0:
        return kind, draw(st.binary(max_size=200)), False
    body = draw({"readings": batch, "status": status, "result": result}.get(kind, batch))
    return kind, body, draw(st.booleans())


def _wire(gateway: str, drawn: tuple[str, bytes | dict[str, Any], bool]) -> tuple[str, bytes]:
    kind, body, msgpack = drawn
    if isinstance(body, dict):
        if body.get("gateway") == OWN:
            body = {**body, "gateway": gateway}
        return f"bohsense/v1/gw/{gateway}/{kind}", _encoded(body, msgpack)
    return f"bohsense/v1/gw/{gateway}/{kind}", body


class WorkerThread:
    """The ingest worker on its own event loop, so that hypothesis drives a plain function."""

    def __init__(self, worker: IngestWorker) -> None:
        self.worker = worker
        self.error: BaseException | None = None
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._main, name="ingest-fuzz", daemon=True)

    def _main(self) -> None:
        try:
            self._loop.run_until_complete(self.worker.run(self._stop))
        except BaseException as exc:  # reported by the test: nothing may raise out of the pipeline
            self.error = exc

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self.worker.connected.is_set():
            assert time.monotonic() < deadline, "worker did not connect"
            time.sleep(0.02)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        assert not self._thread.is_alive(), "worker did not stop"

    def alive(self) -> bool:
        return self._thread.is_alive() and self.error is None


@pytest.fixture(params=["sqlite", "postgresql"])
def boh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BohCore]:
    url = (
        f"sqlite:///{tmp_path / 'boh.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    )
    core = BohCore(url, auto_register=True)  # no catalog: every gateway is trusted
    core.migrate()
    yield core
    core.close()


def test_fuzzed_messages_never_stall_or_break_ingest(
    own_mosquitto: Mosquitto, boh: BohCore, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/ts.db")
    asyncio.run(store.setup())
    worker = IngestWorker(store, boh, config(own_mosquitto, unique("ingest")), recorder=boh)
    runner = WorkerThread(worker)
    runner.start()
    pub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=unique("fuzz-pub"))
    pub.connect("127.0.0.1", own_mosquitto.port)
    pub.loop_start()
    canary, seqs, example_ids = unique("canary"), itertools.count(1), itertools.count(1)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(data=st.data())
    def example(data: st.DataObject) -> None:
        gw = f"fz-{next(example_ids)}"
        hostile = [_wire(gw, m) for m in data.draw(st.lists(message(), min_size=1, max_size=8))]
        seq = next(seqs)
        for topic, payload in [*hostile, (readings_topic(canary), encode(make_batch(canary, seq, 3)))]:
            pub.publish(topic, payload, qos=1).wait_for_publish(10)
        deadline = time.monotonic() + 15
        while _watermark(boh, canary) < seq:
            assert runner.alive(), f"the worker stopped: {runner.error!r}"
            assert time.monotonic() < deadline, (
                f"the canary's seq {seq} was not applied after {hostile!r:.2000}"
            )
            time.sleep(0.01)
        assert runner.alive(), f"the worker stopped: {runner.error!r}"

    try:
        example()
        stats = worker.stats
        assert stats.apply_retries == 0, "no fuzzed message was taken for a failing database"
        assert stats.quarantined > 0
        quarantined = boh.list_quarantine(limit=100_000)
        assert all(q.reason and q.detail for q in quarantined), "every rejection has a reason and a detail"
        reasons = {q.reason for q in quarantined}
        assert not reasons & {"internal", "apply-failed"}, reasons
        assert stats.quarantined == len(quarantined) + stats.quarantine_over_quota
        assert stats.batches_applied > EXAMPLES + stats.batches_rejected_settled, (
            "fuzzed batches reached the core"
        )
        assert stats.status_messages > 0, "fuzzed statuses reached the core"
    finally:
        pub.loop_stop()
        pub.disconnect()
        runner.stop()
        asyncio.run(store.close())
    assert runner.error is None, repr(runner.error)


def _watermark(core: BohCore, gateway: str) -> int:
    from bohsense.cloud.boh import NotFound

    try:
        return core.get_gateway(gateway).watermark
    except NotFound:
        return 0
