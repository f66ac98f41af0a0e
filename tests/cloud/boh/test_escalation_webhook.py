"""An escalated alert reaches the ``escalations`` endpoint through the signed webhook
outbox, end to end against a real HTTP receiver on a free port: signed over the exact
body, retried after a 5xx with the same idempotency key, processed once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bohsense.cloud.boh import BohCore, WebhookConfig, WebhookEndpoint
from bohsense.demo._receiver import Received, WebhookReceiver

from .factory import DURATION_S, LIMIT, SITE, batch, catalog, vib

SECRET = "whsec-escalate-9Kq2Lp"
S = 10**9


@dataclass
class Clock:
    """Wall time moved on by hand: signatures must carry a time the receiver accepts."""

    offset_ns: int = 0

    def __call__(self) -> int:
        return time.time_ns() + self.offset_ns


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    answers: Counter[str] = Counter()

    def first_fails(r: Received) -> int | None:
        answers[r.key] += 1
        return 503 if answers[r.key] == 1 else None

    server = WebhookReceiver(SECRET, behaviour=first_fails).start()
    yield server
    server.stop()


def test_an_escalated_alert_is_delivered_signed_and_retried_after_a_5xx(
    db_url: str, receiver: WebhookReceiver
) -> None:
    clock = Clock()
    config = WebhookConfig(
        endpoints={"escalations": WebhookEndpoint(receiver.url, SECRET)},
        timeout_s=2.0,
        max_attempts=4,
        backoff_s=0.05,
        backoff_max_s=0.1,
    )
    core = BohCore(db_url, clock=clock, escalation_after_s={"major": 2}, webhooks=config)
    core.migrate()
    core.load_catalog(catalog())
    try:
        core.apply_batches([batch(1, [vib(t, LIMIT + 1) for t in range(0, DURATION_S + 2, 5)])])
        (alert,) = core.list_alerts()
        assert core.escalate_alerts() == []
        assert core.list_webhooks(topic="alert.escalated") == []  # nothing before it escalates
        clock.offset_ns = 2 * S
        assert core.escalate_alerts() == [alert.id]
        with httpx.Client() as client:
            deadline = time.monotonic() + 10
            while not receiver.processed:
                assert time.monotonic() < deadline, core.list_webhooks()
                core.deliver_webhooks(client)
                time.sleep(0.06)
        key = f"alert:{alert.id}:escalated:1"
        assert [(r.key, r.topic, r.status, r.attempt) for r in receiver.requests] == [
            (key, "alert.escalated", 503, 1),
            (key, "alert.escalated", 200, 2),
        ]
        assert all(r.signature_ok for r in receiver.requests)
        assert receiver.processed == [key]
        data = receiver.bodies[key]["data"]
        assert (data["alert_id"], data["site"], data["asset_id"]) == (alert.id, SITE, "cooler-1")
        assert (data["was"], data["severity"], data["escalation_level"]) == ("major", "critical", 1)
        assert data["work_order_id"] is not None
        (delivery,) = core.list_webhooks(topic="alert.escalated")
        assert delivery.state == "delivered"
        assert [a.status for a in core.get_webhook(delivery.id).attempt_log] == [503, 200]
        assert delivery.payload["topic"] == "alert.escalated"
        assert core.escalate_alerts() == []  # once: no second delivery
        assert len(core.list_webhooks(topic="alert.escalated")) == 1
    finally:
        core.close()
