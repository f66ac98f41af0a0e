"""Gateway commands in the BOH core: created when sent, settled by the gateway's result.

States: ``sent`` → ``succeeded`` | ``failed`` (the gateway's ``CommandResult``), or
``sent`` → ``failed`` with reason ``not-sent`` when the broker could not take it. A
result for an unknown id, or for a command already settled, changes nothing. Every
change is written to the audit log in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from bohsense.contracts.schema import CommandResult

from ._models import AuditEntry, Gateway, GatewayCommandRow

__all__ = ["CommandRecord", "create_command", "get_command", "list_commands", "settle_command"]

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
    return CommandRecord(
        row.id, row.gateway, row.command, dict(row.args), row.state, row.reason, row.detail, row.actor,
        row.created_ns, row.updated_ns,
    )  # fmt: skip


def _audit(
    conn: Connection, cid: str, before: str | None, after: str, actor: str, now: int, detail: dict[str, Any]
) -> None:
    conn.execute(
        insert(AuditEntry).values(
            entity="command",
            entity_id=cid,
            from_state=before,
            to_state=after,
            actor=actor,
            at_ns=now,
            detail=detail,
        )
    )


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
