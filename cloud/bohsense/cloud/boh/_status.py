"""Recording a gateway's status (birth, goodbye, last will): ordered by ``_status_order``, changes audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from bohsense.contracts.schema import GatewayStatus

from ._apply import AUTO, PENDING
from ._db import conflict_insert
from ._domain_events import DomainEvent, emit
from ._models import Gateway
from ._status_order import supersedes

__all__ = ["record_status"]


def record_status(conn: Connection, status: GatewayStatus, now: int, *, auto_register: bool = False) -> None:
    """Upsert the gateway's state; a status the recorded one supersedes is ignored.

    The site a status names is kept as ``claimed_site``: it never moves a gateway the
    catalog placed (a mismatch is audited). An unknown gateway is recorded ``pending``, or
    ``auto`` at its claimed site when ``auto_register``.
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
        select(g.state, g.last_status_ns, g.status_epoch, g.site, g.claimed_site, g.registration)
        .where(g.id == status.gateway)
        .with_for_update()
    ).one()
    if not supersedes(row.state, row.last_status_ns, row.status_epoch, status.state, status.ts, status.epoch):
        return
    values: dict[str, Any] = {
        "state": status.state,
        # when the gateway was last heard of: a will is built before its connection opened,
        # so it may be older than the birth it ends; the time never goes back
        "last_status_ns": max(status.ts, row.last_status_ns or 0),
        "status_epoch": status.epoch or None,
        "version": status.version,
        "dropped": status.dropped,
        "dropped_in_doubt": status.dropped_in_doubt,
        "next_seq": status.next_seq,
        "outbox_depth": status.outbox_depth,
    }
    if status.site:
        values["claimed_site"] = status.site
        if row.registration == AUTO:
            values["site"] = status.site
        elif row.registration != PENDING and status.site not in (row.site, row.claimed_site):
            emit(
                conn,
                DomainEvent(
                    "gateway.site_claimed",
                    "gateway",
                    status.gateway,
                    row.state,
                    row.state,
                    now,
                    f"gateway:{status.gateway}",
                    {"claimed_site": status.site, "catalog_site": row.site},
                ),
            )
    conn.execute(update(Gateway).where(Gateway.id == status.gateway).values(**values))
    if row.state != status.state:
        emit(
            conn,
            DomainEvent(
                "gateway.state_changed",
                "gateway",
                status.gateway,
                row.state,
                status.state,
                now,
                f"gateway:{status.gateway}",
                {"status_ts_ns": status.ts, "version": status.version, "dropped": status.dropped},
            ),
        )
