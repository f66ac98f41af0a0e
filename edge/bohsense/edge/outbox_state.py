"""The life of one outbox entry: everything that moves an entry between states is here.

::

    event \\ state      PENDING        INFLIGHT       PUBLISHED      (row gone)
    SEND               INFLIGHT       -              -              -
    PUBACK             -              PUBLISHED      -              -
    CONNECTION_LOST    -              INFLIGHT(1)    PENDING        -
    RESEND_TIMEOUT     -              -              PENDING        -
    CLOUD_ACK          DELETED        DELETED        DELETED        -
    OVERFLOW           DROPPED        DROPPED        DROPPED        -

- An entry is created PENDING by ``Outbox.append`` (its row is committed before anything
  is published) and is gone after DELETED (covered by a ``CloudAck``) or DROPPED (the
  overflow policy discarded it; counted in the persisted ``dropped`` counters).
- (1) An entry handed to the MQTT client stays with the client across a reconnect: the
  client sends it again itself (QoS 1, persistent session), so it is not sent twice by
  the agent.
- PUBLISHED means the broker has it (PUBACK), not that the cloud stored it: it is sent
  again after a reconnect (the broker may have restarted without it) and after
  ``resend_after_s`` without a covering ``CloudAck``. The cloud drops the repeat as a
  duplicate by ``(gateway, seq)``.
- Only the row is durable. INFLIGHT and PUBLISHED live in memory: after a restart every
  held entry is PENDING again, which is exactly what the rules above would do anyway.
"""

from __future__ import annotations

import enum

from bohsense.edge.errors import OutboxStateError

__all__ = ["EntryEvent", "EntryState", "transition"]


class EntryState(enum.Enum):
    PENDING = "pending"
    INFLIGHT = "inflight"
    PUBLISHED = "published"
    DELETED = "deleted"
    DROPPED = "dropped"


class EntryEvent(enum.Enum):
    SEND = "send"
    PUBACK = "puback"
    CONNECTION_LOST = "connection-lost"
    RESEND_TIMEOUT = "resend-timeout"
    CLOUD_ACK = "cloud-ack"
    OVERFLOW = "overflow"


_S, _E = EntryState, EntryEvent
_TABLE: dict[tuple[EntryState, EntryEvent], EntryState] = {
    (_S.PENDING, _E.SEND): _S.INFLIGHT,
    (_S.INFLIGHT, _E.PUBACK): _S.PUBLISHED,
    (_S.INFLIGHT, _E.CONNECTION_LOST): _S.INFLIGHT,
    (_S.PUBLISHED, _E.CONNECTION_LOST): _S.PENDING,
    (_S.PUBLISHED, _E.RESEND_TIMEOUT): _S.PENDING,
    (_S.PENDING, _E.CLOUD_ACK): _S.DELETED,
    (_S.INFLIGHT, _E.CLOUD_ACK): _S.DELETED,
    (_S.PUBLISHED, _E.CLOUD_ACK): _S.DELETED,
    (_S.PENDING, _E.OVERFLOW): _S.DROPPED,
    (_S.INFLIGHT, _E.OVERFLOW): _S.DROPPED,
    (_S.PUBLISHED, _E.OVERFLOW): _S.DROPPED,
}


def transition(state: EntryState, event: EntryEvent) -> EntryState:
    """The state after ``event``; raise ``OutboxStateError`` for a transition not in the table."""
    try:
        return _TABLE[(state, event)]
    except KeyError:
        raise OutboxStateError(
            f"outbox entry: event {event.value!r} is not allowed in state {state.value!r}"
        ) from None
