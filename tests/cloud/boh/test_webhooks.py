"""The webhook outbox on PostgreSQL against a real HTTP receiver (a threaded http.server):
down, slow, 500 then 200, never recovering; signed, once per idempotency key, in order per SKU."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bohsense.cloud.api import create_app
from bohsense.cloud.boh import (
    BohCore,
    ProposalPolicy,
    WebhookConfig,
    WebhookEndpoint,
    enqueue_webhook,
    sign,
    verify,
)
from bohsense.cloud.boh._db import write_conn
from bohsense.cloud.boh._webhooks import retry_delay_s
from bohsense.demo._receiver import Received, WebhookReceiver

from .factory import LANE_A, batch, catalog, units

SECRET = "whsec-7Hq2mZ9vXcR4tLp8"
V1 = "/api/v1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_core(url: str, receiver_url: str, *, max_attempts: int = 5, timeout_s: float = 0.4) -> BohCore:
    endpoint = WebhookEndpoint(receiver_url, SECRET)
    config = WebhookConfig(
        endpoints={"orders": endpoint, "work_orders": endpoint},
        timeout_s=timeout_s,
        max_attempts=max_attempts,
        backoff_s=0.02,
        backoff_max_s=0.1,
    )
    core = BohCore(url, proposal_policy=ProposalPolicy(place_on_approval=True), webhooks=config)
    core.migrate()
    core.load_catalog(catalog())
    return core


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


def drain(core: BohCore, client: httpx.Client, done: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"not done in {timeout_s} s: {core.list_webhooks()}"
        core.deliver_webhooks(client)
        time.sleep(0.02)


def enqueue(core: BohCore, items: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Orders enqueued as other code does: ``enqueue_webhook`` in the caller's transaction."""
    with write_conn(core._engine) as conn:
        for key, group, data in items:
            enqueue_webhook(conn, "order.ordered", key, group, data, time.time_ns())


def orders(groups: int, per_group: int) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for n in range(per_group):
        for g in range(groups):
            out.append((f"order:{g}-{n}:ordered", f"order:store/SKU{g}", {"sku": f"SKU{g}", "n": n}))
    return out


def pending(core: BohCore) -> int:
    return len(core.list_webhooks(state="pending"))


def test_an_approved_proposal_sends_one_signed_ordered_webhook(pg_url: str, client: httpx.Client) -> None:
    receiver = WebhookReceiver(SECRET).start()
    core = make_core(pg_url, receiver.url)
    try:
        core.apply_batches([batch(1, [units(LANE_A, 1, 2)])])
        (p,) = core.list_proposals()
        approved = core.approve_proposal(p.id, actor="planner")
        assert (approved.state, approved.approval) == ("ordered", "human")
        drain(core, client, lambda: pending(core) == 0)
        (seen,) = receiver.requests
        assert seen.signature_ok
        assert seen.status == 200
        assert seen.topic == "order.ordered"
        assert seen.key == f"order:{p.id}:ordered"
        data = seen.body["data"]
        assert (data["sku"], data["quantity"], data["pack_size"], data["packs"]) == ("COLA", 42, 6, 7)
        assert data["explanation_url"] == f"/api/v1/replenishment/{p.id}/explanation"
        kinds = [e.kind for e in core.audit(entity="webhook")]
        assert kinds == ["webhook.delivered"]
        view = core.proposal_explanation(p.id)
        assert [(w["topic"], w["state"]) for w in view["webhooks"]] == [("order.ordered", "delivered")]
    finally:
        receiver.stop()
        core.close()


def test_the_signature_covers_the_exact_body_and_its_time() -> None:
    body = b'{"a":1}'
    now = int(time.time())
    header = sign(SECRET, body, now)
    assert verify(SECRET, body, header)
    assert not verify(SECRET, b'{"a":2}', header)
    assert not verify("another-secret-of-16", body, header)
    assert not verify(SECRET, body, sign(SECRET, body, now - 3600))  # a replay an hour later
    assert not verify(SECRET, body, "t=x,v1=00")


def test_a_receiver_that_is_down_gets_each_order_once_it_is_up(pg_url: str, client: httpx.Client) -> None:
    port = free_port()
    core = make_core(pg_url, f"http://127.0.0.1:{port}/hooks", max_attempts=50)
    receiver = WebhookReceiver(SECRET, port=port)
    try:
        enqueue(core, orders(2, 3))
        drain(core, client, lambda: all(d.attempts >= 2 for d in core.list_webhooks()[:2]))
        assert pending(core) == 6  # nothing delivered, nothing lost
        first = core.list_webhooks()[0]
        assert all(a.status is None and a.outcome == "retry" for a in first.attempt_log)
        assert "ConnectError" in first.attempt_log[0].error
        receiver.start()
        drain(core, client, lambda: pending(core) == 0)
        assert sorted(receiver.processed) == sorted(k for k, _, _ in orders(2, 3))
        assert len(receiver.requests) == 6  # once up, each once
        assert all(r.signature_ok for r in receiver.requests)
        for g in range(2):
            mine = [k for k in receiver.processed if k.startswith(f"order:{g}-")]
            assert mine == [f"order:{g}-{n}:ordered" for n in range(3)]
    finally:
        receiver.stop()
        core.close()


def test_a_slow_receiver_is_retried_with_the_same_key_and_processes_it_once(
    pg_url: str, client: httpx.Client
) -> None:
    slow_once: set[str] = set()

    def behaviour(r: Received) -> tuple[str, float] | None:
        if r.key not in slow_once:
            slow_once.add(r.key)
            return ("slow", 1.0)  # processed, but answered after the sender's 0.4 s timeout
        return None

    receiver = WebhookReceiver(SECRET, behaviour=behaviour).start()
    core = make_core(pg_url, receiver.url)
    try:
        enqueue(core, orders(1, 3))
        drain(core, client, lambda: pending(core) == 0)
        keys = [k for k, _, _ in orders(1, 3)]
        assert receiver.processed == keys  # once each, in order
        assert [r.key for r in receiver.requests] == [k for k in keys for _ in range(2)]
        for d in core.list_webhooks():
            assert [a.outcome for a in d.attempt_log] == ["retry", "delivered"]
            assert d.attempt_log[0].error.startswith("timeout after 0.4 s")
            assert d.attempt_log[0].duration_ms >= 400
    finally:
        receiver.stop()
        core.close()


def test_500_then_200_delivers_each_order_once_in_order_per_sku(pg_url: str, client: httpx.Client) -> None:
    failures: dict[str, int] = {}

    def behaviour(r: Received) -> int | None:
        failures[r.key] = failures.get(r.key, 0) + 1
        return 500 if failures[r.key] <= 2 else None

    receiver = WebhookReceiver(SECRET, behaviour=behaviour).start()
    core = make_core(pg_url, receiver.url)
    try:
        items = orders(3, 4)
        enqueue(core, items)
        enqueue(core, items[:3])  # the same keys again: nothing more is enqueued
        assert len(core.list_webhooks()) == 12
        drain(core, client, lambda: pending(core) == 0)
        assert sorted(receiver.processed) == sorted(k for k, _, _ in items)
        assert len(receiver.processed) == len(set(receiver.processed)) == 12
        for g in range(3):
            mine = [k for k in receiver.processed if k.startswith(f"order:{g}-")]
            assert mine == [f"order:{g}-{n}:ordered" for n in range(4)]
        # a group's next delivery never went out before the previous one was delivered
        delivered_at = {}
        for r in receiver.requests:
            if r.status == 200:
                delivered_at[r.key] = r.at
        for r in receiver.requests:
            g, n = r.key.split(":")[1].split("-")
            if int(n) > 0:
                assert r.at >= delivered_at[f"order:{g}-{int(n) - 1}:ordered"]
        app = create_app(core=core, tsdb=None)  # type: ignore[arg-type]
        from fastapi.testclient import TestClient

        with TestClient(app) as api:
            shown = api.get(f"{V1}/webhooks", params={"state": "delivered"}).json()
        assert len(shown) == 12
        assert all([a["status"] for a in d["attempt_log"]] == [500, 500, 200] for d in shown)
        assert all(d["attempts"] == 3 and d["last_error"] == "" for d in shown)
    finally:
        receiver.stop()
        core.close()


def test_a_receiver_that_never_recovers_ends_in_the_dead_letter_list(
    pg_url: str, client: httpx.Client
) -> None:
    broken = {"on": True}
    receiver = WebhookReceiver(SECRET, behaviour=lambda r: 503 if broken["on"] else None).start()
    core = make_core(pg_url, receiver.url, max_attempts=4)
    from fastapi.testclient import TestClient

    api = TestClient(create_app(core=core, tsdb=None))  # type: ignore[arg-type]
    try:
        enqueue(core, orders(1, 2))
        drain(core, client, lambda: len(core.list_webhooks(state="dead")) == 1)
        for _ in range(5):  # the group's next delivery waits behind the dead one
            core.deliver_webhooks(client)
        dead = api.get(f"{V1}/webhooks/dead-letter").json()
        assert [d["idempotency_key"] for d in dead] == ["order:0-0:ordered"]
        assert [a["status"] for a in dead[0]["attempt_log"]] == [503] * 4
        assert "4 attempts made" in dead[0]["last_error"]
        held = core.list_webhooks(state="pending")
        assert [(d.idempotency_key, d.attempts) for d in held] == [("order:0-1:ordered", 0)]
        assert receiver.processed == []
        assert [e.kind for e in core.audit(entity="webhook")][-1] == "webhook.dead_lettered"
        assert api.post(f"{V1}/webhooks/{held[0].id}/redrive").status_code == 409
        broken["on"] = False
        again = api.post(f"{V1}/webhooks/{dead[0]['id']}/redrive", json={}).json()
        assert again["state"] == "pending"
        drain(core, client, lambda: pending(core) == 0)
        assert receiver.processed == ["order:0-0:ordered", "order:0-1:ordered"]
        assert api.get(f"{V1}/webhooks/dead-letter").json() == []
        assert core.get_webhook(dead[0]["id"]).attempts == 5
    finally:
        api.close()
        receiver.stop()
        core.close()


def test_a_refusing_receiver_dead_letters_at_once_and_a_bad_signature_is_refused(
    pg_url: str, client: httpx.Client
) -> None:
    receiver = WebhookReceiver(SECRET, behaviour=lambda r: 422).start()
    core = make_core(pg_url, receiver.url)
    try:
        enqueue(core, orders(1, 1))
        drain(core, client, lambda: pending(core) == 0)
        (d,) = core.list_webhooks(state="dead")
        assert d.attempts == 1
        assert "refuses it" in d.last_error
    finally:
        receiver.stop()
        core.close()
    wrong = WebhookReceiver("not-the-senders-secret", behaviour=None).start()
    try:
        r = httpx.post(
            wrong.url, content=b"{}", headers={"X-Bohsense-Signature": sign(SECRET, b"{}", int(time.time()))}
        )
        assert r.status_code == 401
        assert wrong.processed == []
    finally:
        wrong.stop()


def test_a_work_order_goes_out_as_a_webhook(pg_url: str, client: httpx.Client) -> None:
    receiver = WebhookReceiver(SECRET).start()
    core = make_core(pg_url, receiver.url)
    try:
        wo = core.create_work_order("cooler-1", "Check the door seal", actor="tech")
        drain(core, client, lambda: pending(core) == 0)
        (seen,) = receiver.requests
        assert seen.topic == "work_order.created"
        assert seen.key == f"work_order:{wo.id}:created"
        assert seen.body["data"]["asset_id"] == "cooler-1"
        assert seen.body["data"]["title"] == "Check the door seal"
    finally:
        receiver.stop()
        core.close()


def test_the_retry_delay_doubles_with_jitter_up_to_its_cap() -> None:
    import random

    rng = random.Random(7)
    for attempt, full in [(1, 2.0), (2, 4.0), (3, 8.0), (10, 600.0), (30, 600.0)]:
        got = [retry_delay_s(attempt, 2.0, 600.0, rng) for _ in range(200)]
        assert all(full / 2 <= g <= full for g in got)
        assert max(got) - min(got) > full / 4  # jittered, not fixed


def test_the_secret_stays_out_of_errors_and_reprs() -> None:
    endpoint = WebhookEndpoint("http://127.0.0.1:1/x", SECRET)
    assert SECRET not in repr(endpoint)
    assert SECRET not in repr(WebhookConfig({"orders": endpoint}))
    from bohsense.cloud.settings import CloudSettings

    s = CloudSettings(webhook_orders_url="http://127.0.0.1:1/x", webhook_secret=SECRET)
    assert SECRET not in repr(s)
    assert SECRET not in json.dumps(s.model_dump(mode="json"))
    with pytest.raises(ValueError, match="at least 16 characters") as exc:
        CloudSettings(webhook_orders_url="http://127.0.0.1:1/x", webhook_secret="short-secret")
    assert "short-secret" not in str(exc.value)
    with pytest.raises(ValueError, match="without BOHSENSE_CLOUD_WEBHOOK_SECRET"):
        CloudSettings(webhook_orders_url="http://127.0.0.1:1/x")


def test_two_delivery_workers_at_once_send_each_delivery_once(pg_url: str) -> None:
    import threading

    receiver = WebhookReceiver(SECRET).start()
    cores = [make_core(pg_url, receiver.url) for _ in range(2)]
    try:
        enqueue(cores[0], orders(10, 5))
        start = threading.Event()

        def work(core: BohCore) -> None:
            start.wait(10)
            with httpx.Client() as c:
                deadline = time.monotonic() + 30
                while pending(core) and time.monotonic() < deadline:
                    core.deliver_webhooks(c)

        threads = [threading.Thread(target=work, args=(c,)) for c in cores]
        for t in threads:
            t.start()
        start.set()
        for t in threads:
            t.join(60)
        assert pending(cores[0]) == 0
        assert len(receiver.requests) == 50  # a lease: no delivery sent by both
        assert sorted(receiver.processed) == sorted(k for k, _, _ in orders(10, 5))
        for g in range(10):
            mine = [k for k in receiver.processed if k.startswith(f"order:{g}-")]
            assert mine == [f"order:{g}-{n}:ordered" for n in range(5)]
    finally:
        receiver.stop()
        for c in cores:
            c.close()


@pytest.mark.long
@pytest.mark.parametrize("parallel", [1, 8])
def test_outbox_throughput(pg_url: str, client: httpx.Client, parallel: int) -> None:
    """1000 orders over 50 SKUs, enqueued in one transaction and delivered to a local
    receiver: the figures in docs/boh.md (``pytest -m long -k outbox_throughput -s``)."""
    receiver = WebhookReceiver(SECRET).start()
    endpoint = WebhookEndpoint(receiver.url, SECRET)
    core = BohCore(pg_url, webhooks=WebhookConfig({"orders": endpoint}, batch=100_000, parallel=parallel))
    core.migrate()
    try:
        n, groups = 1000, 50
        items = [(f"order:{i}:ordered", f"order:s/SKU{i % groups}", {"i": i}) for i in range(n)]
        t0 = time.perf_counter()
        enqueue(core, items)
        t1 = time.perf_counter()
        drain(core, client, lambda: len(receiver.processed) == n, timeout_s=120)
        t2 = time.perf_counter()
        print(f"\nparallel {parallel}: enqueue {n / (t1 - t0):.0f}/s, deliver {n / (t2 - t1):.0f}/s")
        assert len(receiver.requests) == n
        for g in range(groups):
            mine = [int(k.split(":")[1]) for k in receiver.processed if int(k.split(":")[1]) % groups == g]
            assert mine == sorted(mine)
    finally:
        receiver.stop()
        core.close()
