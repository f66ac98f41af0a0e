"""The webhook outbox: signed deliveries of orders, work orders and escalated alerts to the
systems a store runs (an ERP, a maintenance system, an on-call pager).

Writing. ``enqueue_webhook(conn, topic, key, group, data)`` adds one delivery in the
caller's transaction, so a webhook exists exactly when the change it reports committed.
``key`` is the idempotency key (unique: enqueuing the same key again adds nothing);
``group`` orders deliveries (``order:<site>/<sku>``, ``work_order:<asset>``): deliveries
of one group go out one at a time, in the order they were enqueued. On PostgreSQL a
transaction-level advisory lock per group, taken at enqueue and released by the commit,
keeps id order and commit order the same within a group. The body is stored as the exact
bytes sent (compact JSON), so every attempt signs and sends the same bytes.

Sending. ``deliver_due`` (the scheduler's ``webhook-delivery`` job) takes the head of
each group that is due: it leases them (``lease_until_ns``) in a short transaction, POSTs
them with httpx outside any transaction, ``parallel`` groups at once (one delivery per
group at a time, so each group stays in order), then records each attempt (``webhook_attempts``) and
the outcome. A 2xx answer delivers it; a timeout, a connection error, 408, 425, 429 or a
5xx schedules a retry after ``backoff_s · 2^(n-1)`` (capped at ``backoff_max_s``) with
equal jitter (half the delay fixed, half random); any other 4xx, or ``max_attempts``
attempts, puts it in the dead-letter list (``dead``), where it holds its group (later
deliveries of that SKU wait: order is kept) until it is re-driven (``redrive``).

The sender delivers at least once: a receiver that answered too slowly may get the same
delivery again, with the same ``Idempotency-Key``. Receivers keep the keys they processed
and answer 2xx to a repeat without processing it again: that makes it exactly once.

Headers of every attempt::

    Content-Type: application/json
    Idempotency-Key: <key>
    X-Bohsense-Topic: <topic>
    X-Bohsense-Delivery: <delivery id>
    X-Bohsense-Attempt: <n, from 1>
    X-Bohsense-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

The secret never leaves ``WebhookConfig`` (its ``repr`` hides it; errors never quote it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, exists, func, insert, select, text, update
from sqlalchemy.orm import aliased

from ._db import conflict_insert, write_conn
from ._domain_events import DomainEvent, emit
from ._errors import InvalidValue, NotFound, StateConflict
from ._models import WebhookAttempt, WebhookDelivery

__all__ = [
    "DEAD",
    "DELIVERED",
    "PENDING",
    "SIGNATURE_HEADER",
    "TOPICS",
    "AttemptRecord",
    "DeliveryRecord",
    "DeliveryRun",
    "WebhookConfig",
    "WebhookEndpoint",
    "deliver_due",
    "enqueue_webhook",
    "list_deliveries",
    "outbox_counts",
    "redrive",
    "retry_delay_s",
    "sign",
    "verify",
]

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
STATES = (PENDING, DELIVERED, DEAD)
SIGNATURE_HEADER = "X-Bohsense-Signature"
#: topics and the family their endpoint is configured for
TOPICS: Mapping[str, str] = {
    "order.ordered": "orders",
    "order.cancelled": "orders",
    "work_order.created": "work_orders",
    "alert.escalated": "escalations",
}
#: answers that are worth retrying (besides 5xx)
RETRY_STATUS = frozenset({408, 425, 429})
NS = 1_000_000_000
ENTITY = "webhook"


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    url: str
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("a webhook URL must start with http:// or https://")
        if len(self.secret) < 16:
            raise ValueError("a webhook secret must be at least 16 characters")


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Where each topic family goes (``orders``, ``work_orders``, ``escalations``) and how it
    is retried."""

    endpoints: Mapping[str, WebhookEndpoint] = field(default_factory=dict)
    timeout_s: float = 5.0
    max_attempts: int = 8
    backoff_s: float = 2.0
    backoff_max_s: float = 600.0
    #: at most this many deliveries per ``deliver_due`` call
    batch: int = 100
    #: groups sent to at once (each group's deliveries stay one at a time, in order)
    parallel: int = 8

    def endpoint(self, topic: str) -> WebhookEndpoint | None:
        return self.endpoints.get(TOPICS.get(topic, ""))


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Bohsense-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    secret: str, body: bytes, header: str, *, tolerance_s: float = 300.0, now: float | None = None
) -> bool:
    """True when ``header`` signs exactly ``body`` with ``secret`` within ``tolerance_s``."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    expected = sign(secret, body, ts).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def retry_delay_s(
    attempt: int, backoff_s: float, backoff_max_s: float, rng: random.Random | None = None
) -> float:
    """Seconds before the attempt after attempt number ``attempt`` (from 1): exponential,
    capped, with equal jitter (between half and all of the capped delay)."""
    capped = min(backoff_max_s, backoff_s * 2.0 ** max(0, attempt - 1))
    return capped / 2.0 + (rng or random).uniform(0.0, capped / 2.0)


def body_bytes(envelope: Mapping[str, Any]) -> str:
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True, allow_nan=False)


def enqueue_webhook(
    conn: Connection, topic: str, key: str, group: str, data: Mapping[str, Any], now: int
) -> int | None:
    """Add a delivery of ``data`` under ``topic`` in the caller's transaction; its id, or None
    when a delivery with idempotency key ``key`` already exists (nothing is added)."""
    if topic not in TOPICS:
        raise ValueError(f"unknown webhook topic {topic!r} (known: {', '.join(sorted(TOPICS))})")
    if conn.dialect.name == "postgresql":
        # per group: the next id is taken once the previous enqueue of the group committed
        conn.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": 0x77686B, "b": _group_hash(group)})
    envelope = {"id": key, "topic": topic, "created_ns": now, "data": dict(data)}
    delivery_id = conn.execute(
        conflict_insert(conn, WebhookDelivery)
        .values(
            topic=topic,
            idempotency_key=key,
            group_key=group,
            body=body_bytes(envelope),
            state=PENDING,
            attempts=0,
            budget_from=0,
            next_attempt_ns=now,
            lease_until_ns=0,
            created_ns=now,
            delivered_ns=None,
            last_status=None,
            last_error="",
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(WebhookDelivery.id)
    ).scalar_one_or_none()
    return delivery_id


def _group_hash(group: str) -> int:
    return zlib.crc32(group.encode()) - 2**31  # a signed 32-bit key


# -- delivery ------------------------------------------------------------------------------


@dataclass(slots=True)
class DeliveryRun:
    """What one ``deliver_due`` call did."""

    attempted: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    #: due deliveries whose topic has no endpoint configured (left pending)
    unrouted: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "attempted": self.attempted,
            "delivered": self.delivered,
            "retried": self.retried,
            "dead": self.dead,
            "unrouted": self.unrouted,
        }


def _claim(engine: Engine, config: WebhookConfig, now: int, limit: int) -> list[Any]:
    """Lease the due heads of their groups (deliveries with nothing undelivered before them)."""
    d = WebhookDelivery.__table__
    earlier = aliased(WebhookDelivery)
    routed = [t for t in TOPICS if config.endpoint(t) is not None]
    if not routed:
        return []
    head = ~exists().where(
        earlier.group_key == d.c.group_key, earlier.id < d.c.id, earlier.state != DELIVERED
    )
    lease_ns = int((config.timeout_s + 10.0) * NS)
    with write_conn(engine) as conn:
        q = (
            select(d.c.id, d.c.topic, d.c.idempotency_key, d.c.body, d.c.attempts, d.c.budget_from)
            .where(
                d.c.state == PENDING,
                d.c.topic.in_(routed),
                d.c.next_attempt_ns <= now,
                d.c.lease_until_ns <= now,
                head,
            )
            .order_by(d.c.id)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True, of=d)
        rows = list(conn.execute(q).all())
        if rows:
            conn.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_([r.id for r in rows]))
                .values(lease_until_ns=now + lease_ns)
                .execution_options(synchronize_session=False)
            )
    return rows


def _unrouted(engine: Engine, config: WebhookConfig, now: int) -> int:
    unrouted = [t for t in TOPICS if config.endpoint(t) is None]
    if not unrouted:
        return 0
    d = WebhookDelivery.__table__
    with engine.connect() as conn:
        return len(
            conn.execute(
                select(d.c.id).where(
                    d.c.state == PENDING, d.c.topic.in_(unrouted), d.c.next_attempt_ns <= now
                )
            ).all()
        )


def deliver_due(
    engine: Engine,
    config: WebhookConfig,
    client: httpx.Client,
    *,
    clock: Callable[[], int] = time.time_ns,
    rng: random.Random | None = None,
) -> DeliveryRun:
    """Send the due heads of every group until none is due (at most ``config.batch``)."""
    from concurrent.futures import ThreadPoolExecutor

    run = DeliveryRun()
    with ThreadPoolExecutor(max_workers=max(1, config.parallel), thread_name_prefix="webhook") as pool:
        while run.attempted < config.batch:
            now = clock()
            rows = _claim(engine, config, now, config.batch - run.attempted)
            if not rows:
                break
            # the claimed rows are heads of distinct groups: sending them at once keeps each group in order
            outcomes = list(pool.map(lambda row: _attempt(engine, config, client, row, clock, rng), rows))
            for outcome in outcomes:
                run.attempted += 1
                if outcome == DELIVERED:
                    run.delivered += 1
                elif outcome == DEAD:
                    run.dead += 1
                else:
                    run.retried += 1
    run.unrouted = _unrouted(engine, config, clock())
    return run


def _attempt(
    engine: Engine,
    config: WebhookConfig,
    client: httpx.Client,
    row: Any,
    clock: Callable[[], int],
    rng: random.Random | None,
) -> str:
    """One HTTP attempt of ``row`` and its record; the outcome (delivered, retry, dead)."""
    endpoint = config.endpoint(row.topic)
    assert endpoint is not None  # claimed only when routed
    attempt = row.attempts + 1
    body = row.body.encode()
    started = clock()
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": row.idempotency_key,
        "X-Bohsense-Topic": row.topic,
        "X-Bohsense-Delivery": str(row.id),
        "X-Bohsense-Attempt": str(attempt),
        SIGNATURE_HEADER: sign(endpoint.secret, body, started // NS),
    }
    status: int | None = None
    error = ""
    t0 = time.perf_counter()
    try:
        response = client.post(endpoint.url, content=body, headers=headers, timeout=config.timeout_s)
        status = response.status_code
    except httpx.TimeoutException:
        error = f"timeout after {config.timeout_s:g} s"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {_no_secret(str(exc), endpoint.secret)}"[:500]
    duration_ms = (time.perf_counter() - t0) * 1000.0
    now = clock()
    if status is not None and 200 <= status < 300:
        outcome = DELIVERED
    elif status is not None and 400 <= status < 500 and status not in RETRY_STATUS:
        outcome = DEAD
        error = f"answered {status}: the receiver refuses it, retrying will not help"
    elif attempt - row.budget_from >= config.max_attempts:
        outcome = DEAD
        error = error or f"answered {status}"
        error += f"; {config.max_attempts} attempts made"
    else:
        outcome = "retry"
        error = error or f"answered {status}"
    values: dict[str, Any] = {
        "attempts": attempt,
        "lease_until_ns": 0,
        "last_status": status,
        "last_error": "" if outcome == DELIVERED else error,
    }
    if outcome == DELIVERED:
        values.update(state=DELIVERED, delivered_ns=now)
    elif outcome == DEAD:
        values.update(state=DEAD)
    else:
        delay = retry_delay_s(attempt, config.backoff_s, config.backoff_max_s, rng)
        values.update(next_attempt_ns=now + int(delay * NS))
    with write_conn(engine) as conn:
        conn.execute(
            insert(WebhookAttempt).values(
                delivery_id=row.id,
                attempt=attempt,
                at_ns=started,
                duration_ms=round(duration_ms, 3),
                status=status,
                error="" if outcome == DELIVERED else error,
                outcome=outcome,
            )
        )
        conn.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == row.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if outcome in (DELIVERED, DEAD):
            emit(
                conn,
                DomainEvent.move(
                    ENTITY,
                    row.id,
                    PENDING,
                    outcome,
                    now,
                    detail={
                        "topic": row.topic,
                        "key": row.idempotency_key,
                        "attempts": attempt,
                        "status": status,
                    }
                    | ({"error": error} if outcome == DEAD else {}),
                    kind="webhook.delivered" if outcome == DELIVERED else "webhook.dead_lettered",
                ),
            )
    return outcome


def _no_secret(message: str, secret: str) -> str:
    return message.replace(secret, "***") if secret else message


# -- reading and re-driving ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    attempt: int
    at_ns: int
    duration_ms: float
    status: int | None
    error: str
    outcome: str


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: int
    topic: str
    idempotency_key: str
    group_key: str
    state: str
    attempts: int
    next_attempt_ns: int
    created_ns: int
    delivered_ns: int | None
    last_status: int | None
    last_error: str
    payload: dict[str, Any]
    attempt_log: list[AttemptRecord]


def list_deliveries(
    conn: Connection,
    *,
    state: str | None = None,
    topic: str | None = None,
    group: str | None = None,
    delivery_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
    visible: Any = None,
) -> list[DeliveryRecord]:
    """``visible``: the deliveries the caller may see (``_scope.delivery_visible``)."""
    if state is not None and state not in STATES:
        raise InvalidValue("state", f"{state!r} is not one of {', '.join(STATES)}")
    d, a = WebhookDelivery.__table__, WebhookAttempt.__table__
    q = select(d) if visible is None else select(d).where(visible)
    for col, value in ((d.c.state, state), (d.c.topic, topic), (d.c.group_key, group), (d.c.id, delivery_id)):
        if value is not None:
            q = q.where(col == value)
    rows = conn.execute(q.order_by(d.c.id).limit(limit).offset(offset)).all()
    attempts: dict[int, list[AttemptRecord]] = {}
    if rows:
        for r in conn.execute(
            select(a).where(a.c.delivery_id.in_([r.id for r in rows])).order_by(a.c.delivery_id, a.c.attempt)
        ):
            attempts.setdefault(r.delivery_id, []).append(
                AttemptRecord(r.attempt, r.at_ns, r.duration_ms, r.status, r.error, r.outcome)
            )
    return [
        DeliveryRecord(
            id=r.id,
            topic=r.topic,
            idempotency_key=r.idempotency_key,
            group_key=r.group_key,
            state=r.state,
            attempts=r.attempts,
            next_attempt_ns=r.next_attempt_ns,
            created_ns=r.created_ns,
            delivered_ns=r.delivered_ns,
            last_status=r.last_status,
            last_error=r.last_error,
            payload=json.loads(r.body),
            attempt_log=attempts.get(r.id, []),
        )
        for r in rows
    ]


def redrive(conn: Connection, delivery_id: int, actor: str, now: int) -> None:
    """A dead delivery back to ``pending`` at once, with a fresh retry budget (audited)."""
    row = conn.execute(
        select(WebhookDelivery.state, WebhookDelivery.attempts)
        .where(WebhookDelivery.id == delivery_id)
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound("webhook delivery", delivery_id)
    if row.state != DEAD:
        raise StateConflict(
            ENTITY, delivery_id, row.state, "not-dead", "only a dead-lettered delivery can be re-driven"
        )
    conn.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(state=PENDING, budget_from=row.attempts, next_attempt_ns=now, lease_until_ns=0)
        .execution_options(synchronize_session=False)
    )
    emit(conn, DomainEvent.move(ENTITY, delivery_id, DEAD, PENDING, now, actor, {}, kind="webhook.redriven"))


def outbox_counts(conn: Connection) -> dict[str, int]:
    d = WebhookDelivery.__table__
    out = dict.fromkeys(STATES, 0)
    for state, n in conn.execute(select(d.c.state, func.count()).group_by(d.c.state)):
        out[state] = int(n)
    return out
