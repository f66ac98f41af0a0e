"""The gateway registry: which gateways exist and where, and what their status messages change.

The catalog is the authority (``registration = "catalog"``): a status keeps the site it
names as ``claimed_site`` and never moves a catalog gateway (a mismatch is audited once).
An unknown gateway is recorded ``pending`` and its batches are held (``_apply``), or, in
the auto-register mode for demos and development, ``auto`` at the site it claims.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from bohsense.contracts.schema import GatewayStatus

from ._apply import AUTO, PENDING
from ._db import conflict_insert
from ._models import AuditEntry, Gateway

__all__ = ["record_status"]


def record_status(conn: Connection, status: GatewayStatus, *, auto_register: bool, now: int) -> None:
    """Upsert the gateway's state; a status older than the one recorded is ignored.

    The site a status names is kept as ``claimed_site``; it never moves a gateway the
    catalog placed (a mismatch is audited once). An unknown gateway is recorded
    ``pending`` (or ``auto``, at its claimed site, in auto-register mode).
    """
    conn.execute(
        conflict_insert(conn, Gateway)
        .values(
            id=status.gateway,
            site=status.site if auto_register else "",
            claimed_site=status.site,
            registration=AUTO if auto_register else PENDING,
        )
        .on_conflict_do_nothing()
    )
    g = Gateway.__table__.c
    row = conn.execute(
        select(g.state, g.last_status_ns, g.site, g.claimed_site, g.registration)
        .where(g.id == status.gateway)
        .with_for_update()
    ).one()
    if row.last_status_ns is not None and status.ts <= row.last_status_ns:
        return
    values: dict[str, Any] = {
        "state": status.state,
        "last_status_ns": status.ts,
        "version": status.version,
        "dropped": status.dropped,
        "next_seq": status.next_seq,
        "outbox_depth": status.outbox_depth,
    }
    if status.site:
        values["claimed_site"] = status.site
        if row.registration == AUTO:
            values["site"] = status.site
        elif row.registration != PENDING and status.site not in (row.site, row.claimed_site):
            conn.execute(
                insert(AuditEntry).values(
                    entity="gateway",
                    entity_id=status.gateway,
                    from_state=row.state,
                    to_state=row.state,
                    actor=f"gateway:{status.gateway}",
                    at_ns=now,
                    detail={"claimed_site": status.site, "catalog_site": row.site},
                )
            )
    conn.execute(update(Gateway).where(Gateway.id == status.gateway).values(**values))
    if row.state != status.state:
        conn.execute(
            insert(AuditEntry).values(
                entity="gateway",
                entity_id=status.gateway,
                from_state=row.state,
                to_state=status.state,
                actor=f"gateway:{status.gateway}",
                at_ns=now,
                detail={
                    "status_ts_ns": status.ts,
                    "version": status.version,
                    "dropped": status.dropped,
                },
            )
        )
