"""``EntryStates``: the one record of every outbox entry's state, moved only by the table."""

from __future__ import annotations

import pytest

from bohsense.edge.errors import OutboxStateError
from bohsense.edge.outbox_state import EntryEvent, EntryState, EntryStates

P, F, U, D, X = (
    EntryState.PENDING,
    EntryState.INFLIGHT,
    EntryState.PUBLISHED,
    EntryState.DELETED,
    EntryState.DROPPED,
)


def test_the_life_of_entries_through_send_puback_rewind_ack_and_drop() -> None:
    st = EntryStates()
    assert [st[s] for s in (1, 2, 3)] == [P, P, P], "a held entry not handed over is pending"
    for s in (1, 2, 3, 4, 9):
        st.send(s)
    assert (st.inflight, st.handed_over) == (5, 5)
    assert st.puback(1) is U
    assert st.puback(9) is U
    assert st.seqs(F) == [2, 3, 4]
    assert st.seqs(U) == [1, 9]
    st.rewind(EntryEvent.CONNECTION_LOST)
    assert [st[s] for s in (1, 2, 3, 4, 9)] == [P, F, F, F, P], "the client keeps what it holds"
    st.send(9)
    st.cloud_ack(2)
    assert [st[s] for s in (1, 2, 3)] == [D, D, F]
    assert st.puback(2) is D, "a PUBACK after the CloudAck leaves it deleted"
    assert st.inflight == 3
    st.settle(4)  # the outbox dropped 3 (its floor is 4 now)
    assert st[3] is X
    assert st.puback(3) is X
    assert st.puback(4) is U
    st.rewind(EntryEvent.RESEND_TIMEOUT)
    assert [st[s] for s in (4, 9)] == [P, F]
    st.renumbered()
    assert (st.inflight, st.handed_over) == (0, 0)
    assert st[10] is P


def test_what_the_table_forbids_raises_and_changes_nothing() -> None:
    st = EntryStates()
    st.send(1)
    with pytest.raises(OutboxStateError, match="'send' is not allowed in state 'inflight'"):
        st.send(1)
    with pytest.raises(OutboxStateError, match="'puback' is not allowed in state 'pending'"):
        st.puback(2)
    st.puback(1)
    with pytest.raises(OutboxStateError, match="'puback' is not allowed in state 'published'"):
        st.puback(1)
    st.cloud_ack(1)
    with pytest.raises(OutboxStateError, match="'send' is not allowed in state 'deleted'"):
        st.send(1)
    assert (st[1], st[2], st.inflight) == (D, P, 0)
