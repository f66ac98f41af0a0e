"""``BohCore``: the BOH store behind ingest (``ports.BatchApplier``, ``ports.StatusRecorder``) and the API."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from bohsense.contracts.schema import CommandResult, GatewayStatus, ReadingBatch
from bohsense.contracts.timeutil import now_ns

from ..ports import ApplyOutcome, QuarantineItem
from . import _queries as q
from ._apply import Applier
from ._catalog import read_catalog, upsert_catalog
from ._commands import (
    CommandRecord,
    create_command,
    get_command,
    list_commands,
    record_result,
    settle_command,
)
from ._db import conflict_insert, make_engine, migrate, session, write_conn
from ._errors import NotFound
from ._lifecycle import ALERT, PROPOSAL, WORK_ORDER, Lifecycle
from ._models import (
    Alert,
    AuditEntry,
    ConditionRule,
    Gateway,
    QuarantineRow,
    ReplenishmentProposal,
    WorkOrder,
)
from ._records import (
    AlertRecord,
    AuditRecord,
    CatalogSummary,
    DeviceRecord,
    GatewayRecord,
    ProposalRecord,
    QuarantineRecord,
    StockLevelRecord,
    WorkOrderRecord,
)
from ._status_order import supersedes
from .rules import ConditionEngine, ReorderPoint, StockEngine, ThresholdCondition

__all__ = ["BohCore"]

DEFAULT_LIMIT = 100


class BohCore:
    """Sites, devices, stock, alerts, work orders and replenishment over SQLite or PostgreSQL.

    Nothing connects until a method is called. Call ``migrate()`` once before use. Every
    method is one transaction and safe to call from several threads and processes.
    """

    def __init__(
        self,
        database_url: str,
        *,
        condition_engine: ConditionEngine | None = None,
        stock_engine: StockEngine | None = None,
        clock: Callable[[], int] = now_ns,
        cache_ttl_s: float = 30.0,
    ) -> None:
        self._engine = make_engine(database_url)
        self._clock = clock
        self._applier = Applier(
            condition_engine or ThresholdCondition(), stock_engine or ReorderPoint(), clock, cache_ttl_s
        )
        self._refresh_lock = threading.Lock()
        self._apply_lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to the newest migration (creates everything on an empty database)."""
        migrate(self._engine)

    def close(self) -> None:
        self._engine.dispose()

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    # -- seeding -------------------------------------------------------------------------

    def load_catalog(self, catalog: Mapping[str, Any] | str | os.PathLike[str]) -> CatalogSummary:
        """Upsert sites, gateways, SKUs, assets with rules and stock locations with lanes."""
        data = read_catalog(catalog)
        with write_conn(self._engine) as conn:
            result = upsert_catalog(conn, data)
        with self._refresh_lock, self._engine.connect() as conn:
            self._applier.refresh(conn)
        return result

    # -- ingest seam ---------------------------------------------------------------------

    def apply_batches(self, batches: Sequence[ReadingBatch]) -> ApplyOutcome:
        """Apply new batches once (duplicates by ``(gateway, seq)`` are counted and skipped), in one transaction."""
        if not batches:
            return ApplyOutcome()
        if self._applier.stale():
            with self._refresh_lock, self._engine.connect() as conn:
                self._applier.refresh(conn)
        with self._apply_lock, write_conn(self._engine) as conn:
            return self._applier.apply(conn, batches)

    def quarantine(self, items: Sequence[QuarantineItem]) -> None:
        if not items:
            return
        rows = [
            {
                "topic": i.topic,
                "gateway": i.gateway,
                "reason": i.reason,
                "detail": i.detail,
                "payload": i.payload,
                "received_ns": i.received_ns,
            }
            for i in items
        ]
        with write_conn(self._engine) as conn:
            conn.execute(insert(QuarantineRow), rows)

    def record_status(self, status: GatewayStatus) -> None:
        """Upsert the gateway's state; a status the recorded one supersedes is ignored
        (the ordering rule is ``_status_order``: connection epoch, then birth before end, then ts)."""
        with write_conn(self._engine) as conn:
            conn.execute(
                conflict_insert(conn, Gateway)
                .values(id=status.gateway, site=status.site)
                .on_conflict_do_nothing()
            )
            g = Gateway.__table__.c
            row = conn.execute(
                select(g.state, g.last_status_ns, g.status_epoch)
                .where(g.id == status.gateway)
                .with_for_update()
            ).one()
            if not supersedes(
                row.state, row.last_status_ns, row.status_epoch, status.state, status.ts, status.epoch
            ):
                return
            values: dict[str, Any] = {
                "state": status.state,
                "last_status_ns": status.ts,
                "status_epoch": status.epoch or None,
                "version": status.version,
                "dropped": status.dropped,
                "dropped_in_doubt": status.dropped_in_doubt,
                "next_seq": status.next_seq,
                "outbox_depth": status.outbox_depth,
            }
            if status.site:
                values["site"] = status.site
            conn.execute(update(Gateway).where(Gateway.id == status.gateway).values(**values))
            if row.state != status.state:
                conn.execute(
                    insert(AuditEntry).values(
                        entity="gateway",
                        entity_id=status.gateway,
                        from_state=row.state,
                        to_state=status.state,
                        actor=f"gateway:{status.gateway}",
                        at_ns=self._clock(),
                        detail={
                            "status_ts_ns": status.ts,
                            "version": status.version,
                            "dropped": status.dropped,
                        },
                    )
                )

    # -- gateway commands ----------------------------------------------------------------

    def create_command(
        self, gateway: str, command: str, args: Mapping[str, str | int | float | bool], *, actor: str
    ) -> CommandRecord:
        """Record a command for ``gateway`` in state ``sent``; the caller then publishes it."""
        with write_conn(self._engine) as conn:
            record = create_command(conn, gateway, command, dict(args), actor, self._clock())
        if record is None:
            raise NotFound("gateway", gateway)
        return record

    def fail_command(self, command_id: str, reason: str, detail: str, *, actor: str) -> CommandRecord:
        """A command that never reached the broker: ``sent`` → ``failed``."""
        with write_conn(self._engine) as conn:
            settle_command(conn, command_id, False, reason, detail, actor, self._clock())
        return self.get_command(command_id)

    def record_command_result(self, result: CommandResult) -> None:
        """Settle the command ``result.id`` with the gateway's outcome (once; repeats change nothing)."""
        with write_conn(self._engine) as conn:
            record_result(conn, result, self._clock())

    def get_command(self, command_id: str) -> CommandRecord:
        with self._engine.connect() as conn:
            record = get_command(conn, command_id)
        if record is None:
            raise NotFound("command", command_id)
        return record

    def list_commands(
        self, gateway: str, *, limit: int = DEFAULT_LIMIT, offset: int = 0
    ) -> list[CommandRecord]:
        with self._engine.connect() as conn:
            return list_commands(conn, gateway, limit, offset)

    # -- lifecycles ----------------------------------------------------------------------

    def _transition(
        self, lifecycle: Lifecycle, model: type[Any], entity_id: int, to: str, actor: str, note: str
    ) -> Any:
        with session(self._engine, write=True) as s:
            row = q.get_one(s, model, lifecycle.entity, entity_id, lock=True)
            lifecycle.check(entity_id, row.state, to)
            now = self._clock()
            s.add(
                AuditEntry(
                    entity=lifecycle.entity,
                    entity_id=str(entity_id),
                    from_state=row.state,
                    to_state=to,
                    actor=actor,
                    at_ns=now,
                    detail={"note": note} if note else {},
                )
            )
            row.state = to
            row.updated_ns = now
            if note and isinstance(row, WorkOrder):
                row.note = note
            if isinstance(row, Alert) and to not in ALERT.open:
                # the rule watches afresh: a fault that persists after the fix opens a new alert
                s.execute(
                    update(ConditionRule)
                    .where(ConditionRule.asset_id == row.asset_id, ConditionRule.condition == row.condition)
                    .values(phase="normal", over_since_ns=None, max_value=None, below_since_ns=None)
                    .execution_options(synchronize_session=False)
                )
            s.flush()
            return row

    def acknowledge_alert(self, alert_id: int, *, actor: str, note: str = "") -> AlertRecord:
        return q.alert_record(self._transition(ALERT, Alert, alert_id, "acknowledged", actor, note))

    def resolve_alert(self, alert_id: int, *, actor: str, note: str = "") -> AlertRecord:
        return q.alert_record(self._transition(ALERT, Alert, alert_id, "resolved", actor, note))

    def transition_work_order(
        self, work_order_id: int, to: str, *, actor: str, note: str = ""
    ) -> WorkOrderRecord:
        return q.work_order_record(self._transition(WORK_ORDER, WorkOrder, work_order_id, to, actor, note))

    def transition_proposal(self, proposal_id: int, to: str, *, actor: str, note: str = "") -> ProposalRecord:
        return q.proposal_record(
            self._transition(PROPOSAL, ReplenishmentProposal, proposal_id, to, actor, note)
        )

    def approve_proposal(self, proposal_id: int, *, actor: str, note: str = "") -> ProposalRecord:
        return self.transition_proposal(proposal_id, "approved", actor=actor, note=note)

    def reject_proposal(self, proposal_id: int, *, actor: str, note: str = "") -> ProposalRecord:
        return self.transition_proposal(proposal_id, "rejected", actor=actor, note=note)

    # -- queries -------------------------------------------------------------------------

    def list_gateways(self, *, site: str | None = None) -> list[GatewayRecord]:
        with session(self._engine) as s:
            return q.list_gateways(s, site)

    def get_gateway(self, gateway_id: str) -> GatewayRecord:
        with session(self._engine) as s:
            return q.gateway_record(q.get_one(s, Gateway, "gateway", gateway_id))

    def list_devices(
        self,
        *,
        gateway: str | None = None,
        kind: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> list[DeviceRecord]:
        with session(self._engine) as s:
            return q.list_devices(s, gateway, kind, limit, offset)

    def stock_levels(self, *, site: str | None = None, sku: str | None = None) -> list[StockLevelRecord]:
        with session(self._engine) as s:
            return q.stock_levels(s, site, sku)

    def list_alerts(
        self,
        *,
        state: str | None = None,
        asset_id: str | None = None,
        site: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> list[AlertRecord]:
        with session(self._engine) as s:
            return q.list_alerts(s, state, asset_id, site, limit, offset)

    def get_alert(self, alert_id: int) -> AlertRecord:
        with session(self._engine) as s:
            return q.alert_record(q.get_one(s, Alert, ALERT.entity, alert_id))

    def list_work_orders(
        self,
        *,
        state: str | None = None,
        asset_id: str | None = None,
        alert_id: int | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> list[WorkOrderRecord]:
        with session(self._engine) as s:
            return q.list_work_orders(s, state, asset_id, alert_id, limit, offset)

    def get_work_order(self, work_order_id: int) -> WorkOrderRecord:
        with session(self._engine) as s:
            return q.work_order_record(q.get_one(s, WorkOrder, WORK_ORDER.entity, work_order_id))

    def list_proposals(
        self,
        *,
        state: str | None = None,
        site: str | None = None,
        sku: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> list[ProposalRecord]:
        with session(self._engine) as s:
            return q.list_proposals(s, state, site, sku, limit, offset)

    def get_proposal(self, proposal_id: int) -> ProposalRecord:
        with session(self._engine) as s:
            return q.proposal_record(q.get_one(s, ReplenishmentProposal, PROPOSAL.entity, proposal_id))

    def audit(
        self,
        *,
        entity: str | None = None,
        entity_id: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> list[AuditRecord]:
        with session(self._engine) as s:
            return q.list_audit(s, entity, entity_id, limit, offset)

    def list_quarantine(
        self,
        *,
        reason: str | None = None,
        gateway: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> list[QuarantineRecord]:
        with session(self._engine) as s:
            return q.list_quarantine(s, reason, gateway, limit, offset)

    def summary(self) -> dict[str, Any]:
        """Counts for dashboards and the demo: gateways by state, alerts, work orders, proposals…"""
        with session(self._engine) as s:
            return q.summary(s)
