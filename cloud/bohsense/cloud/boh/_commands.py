"""Gateway commands in the BOH core: created when sent, settled by the gateway's result.

States: ``sent`` → ``succeeded`` | ``failed`` (the gateway's ``CommandResult``), or
``sent`` → ``failed`` with reason ``not-sent`` when the broker could not take it, or
``sent`` → ``expired`` when no result came within the command timeout
(``expire_commands``, run by the cloud's scheduler). A result for an unknown id, or for
a command already settled or expired, changes nothing. Every
change is a domain event (``command.created`` / ``succeeded`` / ``failed`` / ``expired``)
in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from bohsense.contracts.schema import CommandResult

from ._domain_events import DomainEvent, emit
from ._models import Gateway, GatewayCommandRow
from ._records import record_from

__all__ = [
    "CommandRecord",
    "create_command",
    "expire_commands",
    "get_command",
    "list_commands",
    "settle_command",
]

Args = dict[str, str | int | float | bool]


@dataclass(frozen=True, slots=True)
class CommandRecord:
    id: str
    gateway: str
    command: str
    args: dict[str, Any]
    state: str
    reason: str
    detail: str
    actor: str
    created_ns: int
    updated_ns: int


def _record(row: Any) -> CommandRecord:
    return record_from(CommandRecord, row)


def _audit(
    conn: Connection, cid: str, before: str | None, after: str, actor: str, now: int, detail: dict[str, Any]
) -> None:
    kind = "command.created" if before is None else f"command.{after}"
    emit(conn, DomainEvent(kind, "command", cid, before, after, now, actor, detail))


def create_command(
    conn: Connection, gateway: str, command: str, args: Args, actor: str, now: int
) -> CommandRecord | None:
    """Record a command about to be sent; None if the gateway is unknown."""
    if conn.scalar(select(Gateway.id).where(Gateway.id == gateway)) is None:
        return None
    cid = uuid.uuid4().hex
    values = {
        "id": cid, "gateway": gateway, "command": command, "args": args, "state": "sent", "reason": "",
        "detail": "", "actor": actor, "created_ns": now, "updated_ns": now,
    }  # fmt: skip
    conn.execute(insert(GatewayCommandRow).values(**values))
    _audit(conn, cid, None, "sent", actor, now, {"gateway": gateway, "command": command, "args": args})
    return get_command(conn, cid)


def settle_command(
    conn: Connection, cid: str, ok: bool, reason: str, detail: str, actor: str, now: int
) -> bool:
    """Settle a ``sent`` command; False if there is none such (unknown id, or settled before)."""
    state = "succeeded" if ok else "failed"
    done = conn.execute(
        update(GatewayCommandRow)
        .where(GatewayCommandRow.id == cid, GatewayCommandRow.state == "sent")
        .values(state=state, reason=reason, detail=detail[:1024], updated_ns=now)
    ).rowcount
    if done:
        _audit(conn, cid, "sent", state, actor, now, {"reason": reason, "detail": detail[:300]})
    return bool(done)


def expire_commands(conn: Connection, now: int, timeout_ns: int) -> list[str]:
    """Move every command ``sent`` before ``now - timeout_ns`` to ``expired``; their ids."""
    cutoff = now - timeout_ns
    stale = list(
        conn.scalars(
            select(GatewayCommandRow.id)
            .where(GatewayCommandRow.state == "sent", GatewayCommandRow.created_ns < cutoff)
            .order_by(GatewayCommandRow.id)
            .with_for_update()
        )
    )
    if not stale:
        return []
    detail = f"no result from the gateway within {timeout_ns / 1e9:g} s"
    conn.execute(
        update(GatewayCommandRow)
        .where(GatewayCommandRow.id.in_(stale), GatewayCommandRow.state == "sent")
        .values(state="expired", reason="expired", detail=detail, updated_ns=now)
    )
    for cid in stale:
        _audit(conn, cid, "sent", "expired", "system", now, {"reason": "expired", "detail": detail})
    return stale


def record_result(conn: Connection, result: CommandResult, now: int) -> bool:
    return settle_command(
        conn, result.id, result.ok, result.reason, result.detail, f"gateway:{result.gateway}", now
    )


def get_command(conn: Connection, cid: str) -> CommandRecord | None:
    row = conn.execute(select(GatewayCommandRow.__table__).where(GatewayCommandRow.id == cid)).one_or_none()
    return None if row is None else _record(row)


def list_commands(conn: Connection, gateway: str, limit: int, offset: int) -> list[CommandRecord]:
    rows = conn.execute(
        select(GatewayCommandRow.__table__)
        .where(GatewayCommandRow.gateway == gateway)
        .order_by(GatewayCommandRow.created_ns.desc(), GatewayCommandRow.id)
        .limit(limit)
        .offset(offset)
    )
    return [_record(r) for r in rows]
