"""The life of one outbox entry, and ``EntryStates``: the state of every entry, held here only.

::

    event \\ state      PENDING        INFLIGHT       PUBLISHED      DELETED    DROPPED
    SEND               INFLIGHT       -              -              -          -
    PUBACK             -              PUBLISHED      -              DELETED    DROPPED
    CONNECTION_LOST    -              INFLIGHT(1)    PENDING        -          -
    RESEND_TIMEOUT     -              INFLIGHT(1)    PENDING        -          -
    CLOUD_ACK          DELETED        DELETED        DELETED        -          -
    OVERFLOW           DROPPED        DROPPED        DROPPED        -          -

- An entry is created PENDING by ``Outbox.append`` (its row is committed before anything
  is published) and ends DELETED (covered by a ``CloudAck``) or DROPPED (the overflow or
  age policy discarded it; counted in the persisted ``dropped`` counters); its row is gone.
- (1) An entry handed to the MQTT client stays with the client across a reconnect and a
  resend timeout: the client sends it again itself (QoS 1, persistent session), so it is
  not sent twice by the uplink.
- PUBLISHED means the broker has it (PUBACK), not that the cloud stored it: it is sent
  again after a reconnect (the broker may have restarted without it) and after
  ``resend_after_s`` without a covering ``CloudAck``. The cloud drops the repeat as a
  duplicate by ``(gateway, seq)``.
- A PUBACK may come after the entry ended: the cloud acknowledged it (through another
  copy, or the broker delivered it before it confirmed it to the gateway) or the outbox
  dropped it. The entry stays ended; the late PUBACK changes nothing.
- Only the row is durable. INFLIGHT and PUBLISHED live in memory, in ``EntryStates``:
  after a restart every held entry is PENDING again, which is exactly what the rules
  above would do anyway.

``EntryStates`` is the one record of these states, used by the uplink for every
decision: what to send (PENDING only), what a PUBACK, a reconnect, a resend timeout, a
CloudAck or a drop does to each entry. It holds the entries handed to the client
(INFLIGHT, PUBLISHED) by seq; a held entry it does not name is PENDING, and an entry
at or below the highest ``CloudAck`` is DELETED, one below the outbox's floor otherwise
DROPPED. Every change goes through ``transition``.
"""

from __future__ import annotations

import enum

from bohsense.edge.errors import OutboxStateError

__all__ = ["EntryEvent", "EntryState", "EntryStates", "transition"]


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
    (_S.DELETED, _E.PUBACK): _S.DELETED,
    (_S.DROPPED, _E.PUBACK): _S.DROPPED,
    (_S.INFLIGHT, _E.CONNECTION_LOST): _S.INFLIGHT,
    (_S.PUBLISHED, _E.CONNECTION_LOST): _S.PENDING,
    (_S.INFLIGHT, _E.RESEND_TIMEOUT): _S.INFLIGHT,
    (_S.PUBLISHED, _E.RESEND_TIMEOUT): _S.PENDING,
    (_S.PENDING, _E.CLOUD_ACK): _S.DELETED,
    (_S.INFLIGHT, _E.CLOUD_ACK): _S.DELETED,
    (_S.PUBLISHED, _E.CLOUD_ACK): _S.DELETED,
    (_S.PENDING, _E.OVERFLOW): _S.DROPPED,
    (_S.INFLIGHT, _E.OVERFLOW): _S.DROPPED,
    (_S.PUBLISHED, _E.OVERFLOW): _S.DROPPED,
}
_ENDED = (EntryState.DELETED, EntryState.DROPPED)


def transition(state: EntryState, event: EntryEvent) -> EntryState:
    """The state after ``event``; raise ``OutboxStateError`` for a transition not in the table."""
    try:
        return _TABLE[(state, event)]
    except KeyError:
        raise OutboxStateError(
            f"outbox entry: event {event.value!r} is not allowed in state {state.value!r}"
        ) from None


class EntryStates:
    """The state of every outbox entry (see the module doc); used from the event loop."""

    def __init__(self) -> None:
        #: entries handed to the MQTT client: INFLIGHT or PUBLISHED
        self._held: dict[int, EntryState] = {}
        self._inflight = 0
        #: every entry up to here is DELETED (the highest CloudAck)
        self._acked_upto = 0
        #: every entry below here and above ``_acked_upto`` is DROPPED (the outbox's floor)
        self._floor = 0

    def __getitem__(self, seq: int) -> EntryState:
        if seq <= self._acked_upto:
            return EntryState.DELETED
        if seq < self._floor:
            return EntryState.DROPPED
        return self._held.get(seq, EntryState.PENDING)

    @property
    def inflight(self) -> int:
        """Entries with the MQTT client, not yet PUBACKed (what the in-flight window bounds)."""
        return self._inflight

    @property
    def handed_over(self) -> int:
        """Entries INFLIGHT or PUBLISHED."""
        return len(self._held)

    def seqs(self, state: EntryState) -> list[int]:
        """The held entries in ``state`` (INFLIGHT or PUBLISHED), in seq order."""
        return sorted(s for s, st in self._held.items() if st is state)

    def send(self, seq: int) -> None:
        """``seq`` is handed to the MQTT client (it must be PENDING)."""
        self._set(seq, transition(self[seq], EntryEvent.SEND))

    def puback(self, seq: int) -> EntryState:
        """The broker confirmed ``seq``; return its state now (PUBLISHED, or it had ended)."""
        state = transition(self[seq], EntryEvent.PUBACK)
        if state not in _ENDED:
            self._set(seq, state)
        return state

    def rewind(self, event: EntryEvent) -> None:
        """A reconnect (CONNECTION_LOST) or RESEND_TIMEOUT: PUBLISHED entries are PENDING again."""
        for seq, state in list(self._held.items()):
            self._set(seq, transition(state, event))

    def cloud_ack(self, upto: int) -> None:
        """A CloudAck: every entry with ``seq <= upto`` is DELETED."""
        if upto <= self._acked_upto:
            return
        for seq in [s for s in self._held if s <= upto]:
            self._end(seq, transition(self._held[seq], EntryEvent.CLOUD_ACK))
        self._acked_upto = upto

    def settle(self, floor: int) -> None:
        """The outbox holds nothing below ``floor``: entries there not acknowledged were DROPPED."""
        if floor <= self._floor:
            return
        for seq in [s for s in self._held if s < floor]:
            self._end(seq, transition(self._held[seq], EntryEvent.OVERFLOW))
        self._floor = floor

    def renumbered(self) -> None:
        """The outbox renumbered its entries (a rebase): every held entry is PENDING under its
        new number; what the client still holds goes out under the old one, a duplicate."""
        self._held.clear()
        self._inflight = 0
        self._floor = 0

    def _set(self, seq: int, state: EntryState) -> None:
        old = self._held.get(seq, EntryState.PENDING)
        self._inflight += (state is EntryState.INFLIGHT) - (old is EntryState.INFLIGHT)
        if state is EntryState.PENDING:
            self._held.pop(seq, None)
        else:
            self._held[seq] = state

    def _end(self, seq: int, state: EntryState) -> None:
        assert state in _ENDED
        old = self._held.pop(seq)
        self._inflight -= old is EntryState.INFLIGHT
