"""Which gateway status wins: the ordering rule of ``GatewayStatus`` (retained, last will).

A status belongs to one MQTT connection of the gateway, named by its ``epoch`` (the
gateway's time when it opened the connection, strictly increasing per gateway). Within
a connection the birth (``online``, and its repeats on ``ping``) comes first and its end
(``offline`` from a clean goodbye, or the ``lost`` will the broker publishes) last. The
will is built before the connection is opened, so its ``ts`` is older than the birth's:
``ts`` alone would discard it. Hence, with both epochs known::

    incoming epoch >  recorded epoch   -> wins (a newer connection)
    incoming epoch <  recorded epoch   -> ignored (a late message of an older connection)
    same epoch                         -> the end (offline / lost) wins over the birth;
                                          between two of the same rank, the newer ts

A status without an epoch (0: a gateway that predates the field), or a recorded state
without one, is ordered by ``ts`` alone, as before: newer wins, equal is ignored.
"""

from __future__ import annotations

__all__ = ["RANK", "supersedes"]

#: the order of states within one connection
RANK = {"online": 0, "offline": 1, "lost": 1}


def supersedes(
    recorded_state: str,
    recorded_ts: int | None,
    recorded_epoch: int | None,
    state: str,
    ts: int,
    epoch: int,
) -> bool:
    """Whether the status ``(state, ts, epoch)`` replaces the one recorded."""
    if recorded_ts is None:
        return True
    if epoch and recorded_epoch:
        if epoch != recorded_epoch:
            return epoch > recorded_epoch
        rank, recorded_rank = RANK[state], RANK.get(recorded_state, 0)
        if rank != recorded_rank:
            return rank > recorded_rank
    return ts > recorded_ts
