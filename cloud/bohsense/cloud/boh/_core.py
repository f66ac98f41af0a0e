"""``BohCore``: the BOH store behind ingest (``ports.BatchApplier``, ``ports.StatusRecorder``) and the API."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event, select, text
from sqlalchemy.exc import SQLAlchemyError

from bohsense.contracts.schema import CommandResult, GatewayStatus, ReadingBatch
from bohsense.contracts.timeutil import now_ns

from ..ports import ApplyOutcome, BatchEvents, QuarantineItem
from . import _catalog_read as cr
from . import _queries as q
from . import _webhooks as wh
from . import _work_orders as wo
from ._alerts import AlertPolicy, queue_notice
from ._apply import Applier, Learnt
from ._asset_health import AssetHealth, asset_health
from ._catalog import read_catalog, upsert_catalog
from ._catalog_ops import CatalogOps
from ._catalog_read import AssetRecord, LocationRecord, SiteRecord, SkuRecord
from ._commands import (
    CommandRecord,
    create_command,
    expire_commands,
    get_command,
    list_commands,
    record_result,
    settle_command,
)
from ._db import WRITE, make_engine, migrate, session, write_conn
from ._domain_events import ChangesPage, DomainEvent, changes_since, emit
from ._errors import CatalogError, InvalidValue, NotFound, StateConflict
from ._event_sites import event_sites, latest_change_id
from ._events_read import EventRecord, list_events
from ._fleet_kpis import StoreKpis, fleet_kpis
from ._handlers import EventHandlers
from ._inventory import DepartureRecord, ItemView, ZoneCountRecord, item_view, list_departures, zone_counts
from ._ledger import LedgerRecord, PosBatch, TransactionResult, list_ledger, record_transactions
from ._lifecycle import ALERT, PROPOSAL, WORK_ORDER, Lifecycle
from ._models import (
    Alert,
    Gateway,
    IngestSeq,
    QuarantineRow,
    ReplenishmentProposal,
    WorkOrder,
)
from ._notices import AlertFilter, FaultLabelRecord, NoticeRecord, claim_notices, list_fault_labels
from ._planning import PlanInput, explanation_view, put_plan
from ._proposals import ProposalPolicy, ReceiptOutcome, record_receipt
from ._quarantine import DEFAULT_QUOTA, quarantine_payload, store_quarantine
from ._reapply import ReapplyResult, reapply
from ._records import (
    AlertRecord,
    AuditRecord,
    CatalogMapping,
    CatalogSummary,
    DeviceRecord,
    GatewayRecord,
    ProposalRecord,
    QuarantineRecord,
    StockLevelRecord,
    WorkOrderChanges,
    WorkOrderRecord,
)
from ._scope import Sites, audit_visible, delivery_visible, names_within
from ._silence import SilenceSweep, sweep_silence
from ._status import record_status
from ._stock_read import (
    HeatCellRecord,
    OutageRecord,
    OutageTotalRecord,
    RollupRecord,
    SensedStockRecord,
    heatmap,
    list_outages,
    outage_totals,
    sensed_rollup,
    sensed_stock,
)
from ._stock_truth import StockSettings, with_sales
from ._transitions import move, set_quantity
from ._unavailable import unavailable_as_core_unavailable
from .rules import (
    ConditionEngine,
    ModelRegistry,
    PlannedReorder,
    StockEngine,
    ThresholdCondition,
)

__all__ = ["BohCore"]

T = TypeVar("T")

DEFAULT_LIMIT = 100


class BohCore:
    """Sites, devices, stock, alerts, work orders and replenishment over SQLite or PostgreSQL.

    Nothing connects until a method is called. Call ``migrate()`` once before use. Every
    method is one transaction and safe to call from several threads and processes.

    The ingest seam (``apply_batches``, ``quarantine``, ``record_status``,
    ``record_command_result``) raises ``ports.CoreUnavailable`` when the database cannot
    take the call (see ``_unavailable``); any other error may be the data's.
    """

    def __init__(
        self,
        database_url: str,
        *,
        condition_engine: ConditionEngine | None = None,
        stock_engine: StockEngine | None = None,
        clock: Callable[[], int] = now_ns,
        cache_ttl_s: float = 30.0,
        quarantine_quota: int = DEFAULT_QUOTA,
        auto_register: bool = False,
        escalation_after_s: Mapping[str, float] | None = None,
        event_handlers: EventHandlers | None = None,
        proposal_policy: ProposalPolicy | None = None,
        webhooks: wh.WebhookConfig | None = None,
        stock_settings: StockSettings | None = None,
        alert_policy: AlertPolicy | None = None,
        models: ModelRegistry | None = None,
    ) -> None:
        """``proposal_policy``: abnormal-order flags, auto-approval limits per class, and
        whether approval places the order (``_proposals``; default: every proposal waits for
        a person, and ``ordered`` is marked by hand). ``webhooks``: where the outbox delivers
        (``_webhooks``; None: deliveries wait in the outbox). ``stock_settings``: the
        tolerances and times of the stock truth (fusion, phantom inventory, shrink, door
        departures; ``_stock_truth.StockSettings``).

        ``event_handlers``: event kind -> handler, run once per new batch's event in its
        transaction (default: the built-in handlers, ``_handlers.default_handlers``).

        ``auto_register``: trust any gateway that reports, at the site it claims (demos and
        development without a catalog). Off, the catalog is the authority: an unknown
        gateway is recorded ``pending`` and its batches are held in quarantine
        (``unknown-gateway``) until the catalog registers it, then applied.
        ``escalation_after_s``: severity -> seconds an alert may stay unacknowledged before
        it escalates (0: never; the rest from ``_decisions.DEFAULT_ESCALATION_AFTER_S``).
        ``alert_policy``: the reopen window and the auto-resolve delay (``_alerts``).
        ``models``: the detector model files of detector rules (default: the packaged ones)."""
        self._engine = make_engine(database_url)
        self.models = models if models is not None else ModelRegistry.load()
        self._quarantine_quota = quarantine_quota
        self._clock = clock
        self._auto_register = auto_register
        self._proposal_policy = proposal_policy or ProposalPolicy()
        self._webhooks = webhooks
        self._applier = Applier(
            condition_engine or ThresholdCondition(),
            stock_engine or PlannedReorder(),
            clock,
            cache_ttl_s,
            auto_register=auto_register,
            escalation_after_s=escalation_after_s,
            handlers=event_handlers,
            proposal_policy=self._proposal_policy,
            stock_settings=stock_settings,
            alert_policy=alert_policy,
            models=self.models,
        )
        self._refresh_lock = threading.Lock()
        self._apply_lock = threading.Lock()

    @property
    def event_handlers(self) -> EventHandlers:
        """The registry of event handlers (``register(kind, handler)``)."""
        return self._applier.handlers

    @property
    def engine(self) -> Engine:
        """The database engine, for the stores that share the BOH database (identity)."""
        return self._engine

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

    def load_catalog(
        self, catalog: Mapping[str, Any] | str | os.PathLike[str], *, actor: str = "catalog-file"
    ) -> CatalogSummary:
        """Sites, gateways, SKUs, assets with rules and stock locations with lanes, through the
        catalog operations; a section the catalog lists is complete (what it no longer lists
        is retired). In effect at once here, in other processes within ``cache_ttl_s``."""
        data = read_catalog(catalog)
        self._check_models(data)
        with write_conn(self._engine) as conn:
            result = upsert_catalog(conn, data, actor=actor, now=self._clock())
        self._catalog_changed(release_for="*", actor=actor)  # a file maps a gateway's devices with it
        return result

    def _check_models(self, data: Mapping[str, Any]) -> None:
        """Refuse a catalog whose detector rules name a model file this service lacks."""
        assets = data.get("assets", [])
        for i, a in enumerate(assets if isinstance(assets, list) else []):
            rules = a.get("rules", []) if isinstance(a, Mapping) else []
            for j, r in enumerate(rules if isinstance(rules, list) else []):
                if isinstance(r, Mapping) and r.get("engine") == "detector":
                    model = r.get("model")
                    if not isinstance(model, str) or model not in self.models.models:
                        known = ", ".join(sorted(self.models.models)) or "none"
                        raise CatalogError(
                            f"catalog assets[{i}].rules[{j}]: no detector model {model!r} (loaded: {known})"
                        )

    def change_catalog(self, operation: Callable[[CatalogOps], T], *, actor: str) -> T:
        """Run one catalog operation (``CatalogOps.put_*`` / ``retire_*``) in one transaction,
        audited as ``actor``, and take it into effect."""
        with write_conn(self._engine) as conn:
            result = operation(CatalogOps(conn, actor, self._clock()))
        self._catalog_changed()
        return result

    def list_sites(self, *, include_retired: bool = False, sites: Sites = None) -> list[SiteRecord]:
        with session(self._engine) as s:
            return cr.list_sites(s, include_retired, sites)

    def list_skus(self, *, include_retired: bool = False) -> list[SkuRecord]:
        with session(self._engine) as s:
            return cr.list_skus(s, include_retired)

    def list_assets(
        self, *, site: str | None = None, include_retired: bool = False, sites: Sites = None
    ) -> list[AssetRecord]:
        with session(self._engine) as s:
            return cr.list_assets(s, site, include_retired, sites)

    def list_locations(
        self, *, site: str | None = None, include_retired: bool = False, sites: Sites = None
    ) -> list[LocationRecord]:
        with session(self._engine) as s:
            return cr.list_locations(s, site, include_retired, sites)

    def _catalog_changed(self, *, release_for: str | None = None, actor: str = "catalog") -> dict[str, int]:
        """Take a catalog change into effect in this process (others follow within ``cache_ttl_s``):
        mappings and parameters, open proposals re-sized; with ``release_for``, the data held
        for registered gateways (``"*"``: all of them) is applied."""
        with self._refresh_lock, self._engine.connect() as conn:
            self._applier.refresh(conn)
        learnt = Learnt()
        released: dict[str, int] = {}
        with self._apply_lock, write_conn(self._engine) as conn:
            self._applier.revise_proposals(conn)
            if release_for is not None:
                released = self._applier.release_held(
                    conn, learnt, None if release_for == "*" else release_for
                )
            now = self._clock()
            emit(
                conn,
                *(
                    DomainEvent(
                        "gateway.released",
                        "gateway",
                        gateway,
                        None,
                        "registered",
                        now,
                        actor,
                        {"released": n},
                    )
                    for gateway, n in sorted(released.items())
                ),
            )
        self._applier.learn(learnt)  # after the commit: a rollback leaves the caches as they were
        return released

    def release_held(self, gateway: str, *, actor: str) -> int:
        """Apply the batches held while ``gateway`` was unknown, now that the catalog registers it
        (map its devices first: readings of unmapped devices change nothing). Returns how many."""
        with self._engine.connect() as conn:
            found = conn.execute(
                select(Gateway.registration, Gateway.retired_ns).where(Gateway.id == gateway)
            ).one_or_none()
        if found is None:
            raise NotFound("gateway", gateway)
        if found.registration == "pending" or found.retired_ns is not None:
            raise StateConflict(
                "gateway",
                gateway,
                "pending" if found.retired_ns is None else "retired",
                "not-registered",
                "register it in the catalog (PUT /catalog/gateways/{id}) before releasing its data",
            )
        return self._catalog_changed(release_for=gateway, actor=actor).get(gateway, 0)

    # -- ingest seam ---------------------------------------------------------------------

    def apply_batches(
        self, batches: Sequence[ReadingBatch], events: BatchEvents | None = None
    ) -> ApplyOutcome:
        """Apply new batches once (duplicates by ``(gateway, seq)`` are counted and skipped), in one
        transaction; their events (``events``, decoded by ingest) stored and handled in it too."""
        if not batches:
            return ApplyOutcome()
        with unavailable_as_core_unavailable():
            if self._applier.stale():
                with self._refresh_lock, self._engine.connect() as conn:
                    self._applier.refresh(conn)
            with self._apply_lock:
                with write_conn(self._engine) as conn:
                    outcome, learnt = self._applier.apply(conn, batches, events)
                self._applier.learn(learnt)  # committed
            return outcome

    def settled(self, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        """The ``(gateway, seq)`` of ``keys`` applied before or below their gateway's watermark."""
        if not keys:
            return set()
        gateways = sorted({g for g, _ in keys})
        seqs = sorted({s for _, s in keys})
        with unavailable_as_core_unavailable(), self._engine.connect() as conn:
            found = conn.execute(select(Gateway.id, Gateway.watermark).where(Gateway.id.in_(gateways)))
            marks: dict[str, int] = {g: wm for g, wm in found}
            above = select(IngestSeq.gateway, IngestSeq.seq).where(
                IngestSeq.gateway.in_(gateways), IngestSeq.seq.in_(seqs)
            )
            gaps = {(g, s) for g, s in conn.execute(above)}
        return {(g, s) for g, s in keys if s <= marks.get(g, 0) or (g, s) in gaps}

    def quarantine(self, items: Sequence[QuarantineItem]) -> int:
        """Keep ``items`` (large payloads as a prefix with size and hash) within each gateway's
        quota; return how many were stored (see ``_quarantine``)."""
        if not items:
            return 0
        with unavailable_as_core_unavailable(), write_conn(self._engine) as conn:
            return store_quarantine(conn, items, self._quarantine_quota)

    def get_quarantine(self, quarantine_id: int) -> QuarantineRecord:
        with session(self._engine) as s:
            found = q.list_quarantine(s, None, None, 1, 0, quarantine_id)
        if not found:
            raise NotFound("quarantine item", quarantine_id)
        return found[0]

    def quarantine_payload(self, quarantine_id: int) -> bytes:
        """The stored bytes of one quarantine item (``NotFound`` if there is none)."""
        with self._engine.connect() as conn:
            return quarantine_payload(conn, quarantine_id)

    def record_status(self, status: GatewayStatus) -> None:
        """Upsert the gateway's state; a status the recorded one supersedes is ignored
        (the ordering rule is ``_status_order``: connection epoch, then birth before end, then ts).

        The site a status names is kept as ``claimed_site``; it never moves a gateway the
        catalog placed (a mismatch is audited once). An unknown gateway is recorded
        ``pending`` (or ``auto``, at its claimed site, in auto-register mode).
        """
        with unavailable_as_core_unavailable(), write_conn(self._engine) as conn:
            record_status(conn, status, self._clock(), auto_register=self._auto_register)

    def reapply_quarantined(self, ids: Sequence[int], *, actor: str) -> list[ReapplyResult]:
        """Apply ``apply-failed`` quarantine items again, each in its own transaction; an item
        applied leaves the quarantine (audited), one that fails again stays with the reason.
        Raises ``NotFound`` (before applying anything) if an id is not in the quarantine."""
        with self._engine.connect() as conn:
            c = QuarantineRow.__table__.c
            present = set(conn.scalars(select(c.id).where(c.id.in_(list(ids)))))
        missing = [i for i in ids if i not in present]
        if missing:
            raise NotFound("quarantine item", missing[0])
        results: list[ReapplyResult] = []
        for qid in ids:
            with self._apply_lock:
                if self._applier.stale():
                    with self._refresh_lock, self._engine.connect() as conn:
                        self._applier.refresh(conn)
                try:
                    with write_conn(self._engine) as conn:
                        result, learnt = reapply(conn, self._applier, qid, actor, self._clock())
                except NotFound:
                    raise
                except Exception as exc:  # reported per item: the item stays in the quarantine
                    result, learnt = ReapplyResult(qid, False, f"failed again: {exc!r:.300}"), None
                if learnt is not None:
                    self._applier.learn(learnt)  # committed
            results.append(result)
        return results

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
        with unavailable_as_core_unavailable(), write_conn(self._engine) as conn:
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
        now = self._clock()
        with session(self._engine, write=True) as s:
            row = q.get_one(s, model, lifecycle.entity, entity_id, lock=True)
            was_alert = row.alert_id if isinstance(row, WorkOrder) else None
            linked = s.get(Alert, was_alert) if was_alert is not None else None
            alert_state = linked.state if linked is not None else None
            move(s, lifecycle, row, to, actor, note, now)
            s.flush()
            conn = s.connection()
            if isinstance(row, Alert) and to in ("acknowledged", "resolved"):
                queue_notice(conn, row.id, to, now, actor)
            if isinstance(row, WorkOrder) and to == "closed":
                if self._applier.executor.work_order_closed(conn, row, actor, now) == "work_order_no_fault":
                    self._applier.invalidate()  # other processes take it within cache_ttl_s
                if was_alert is not None and alert_state != "resolved":
                    queue_notice(conn, was_alert, "resolved", now, actor)
            return row

    def acknowledge_alert(self, alert_id: int, *, actor: str, note: str = "") -> AlertRecord:
        return q.alert_record(self._transition(ALERT, Alert, alert_id, "acknowledged", actor, note))

    def resolve_alert(self, alert_id: int, *, actor: str, note: str = "") -> AlertRecord:
        return q.alert_record(self._transition(ALERT, Alert, alert_id, "resolved", actor, note))

    def transition_work_order(
        self, work_order_id: int, to: str, *, actor: str, note: str = ""
    ) -> WorkOrderRecord:
        return q.work_order_record(self._transition(WORK_ORDER, WorkOrder, work_order_id, to, actor, note))

    def create_work_order(
        self,
        asset_id: str,
        title: str,
        *,
        actor: str,
        kind: str = "maintenance",
        description: str = "",
        priority: str = "normal",
        assignee: str = "",
        due_ns: int | None = None,
        note: str = "",
    ) -> WorkOrderRecord:
        """A work order made by hand (no alert), for an asset of the catalog."""
        with session(self._engine, write=True) as s:
            row = wo.create_work_order(
                s,
                asset_id,
                title,
                actor=actor,
                now=self._clock(),
                kind=kind,
                description=description,
                priority=priority,
                assignee=assignee,
                due_ns=due_ns,
                note=note,
            )
            return q.work_order_record(row)

    def update_work_order(
        self, work_order_id: int, changes: WorkOrderChanges, *, actor: str
    ) -> WorkOrderRecord:
        """Assignee, due date, priority, resolution; parts, labour, notes, attachments appended."""
        with session(self._engine, write=True) as s:
            row = q.get_one(s, WorkOrder, WORK_ORDER.entity, work_order_id, lock=True)
            wo.update_work_order(s, row, changes, actor, self._clock())
            s.flush()
            return q.work_order_record(row)

    def transition_proposal(self, proposal_id: int, to: str, *, actor: str, note: str = "") -> ProposalRecord:
        return q.proposal_record(
            self._transition(PROPOSAL, ReplenishmentProposal, proposal_id, to, actor, note)
        )

    def set_proposal_quantity(
        self, proposal_id: int, quantity: int, *, actor: str, note: str = ""
    ) -> ProposalRecord:
        """The planner's quantity (whole packs), while the proposal is ``proposed`` or ``approved``.

        From then on the stock rule no longer resizes it; the explanation keeps the rule's
        quantity next to the planner's.
        """
        with session(self._engine, write=True) as s:
            row = q.get_one(s, ReplenishmentProposal, PROPOSAL.entity, proposal_id, lock=True)
            set_quantity(s, row, quantity, actor, note, self._clock())
            s.flush()
            return q.proposal_record(row)

    def approve_proposal(
        self, proposal_id: int, *, actor: str, note: str = "", quantity: int | None = None
    ) -> ProposalRecord:
        """Approve, with the planner's ``quantity`` when given (both in one transaction)."""
        with session(self._engine, write=True) as s:
            row = q.get_one(s, ReplenishmentProposal, PROPOSAL.entity, proposal_id, lock=True)
            now = self._clock()
            PROPOSAL.check(row.id, row.state, "approved")
            if quantity is not None:
                set_quantity(s, row, quantity, actor, note, now)
            row.approval = "human"
            move(s, PROPOSAL, row, "approved", actor, note, now)
            if self._proposal_policy.place_on_approval:
                move(s, PROPOSAL, row, "ordered", actor, "placed on approval", now)
            s.flush()
            return q.proposal_record(row)

    def record_receipt(
        self,
        proposal_id: int,
        receipt_id: str,
        quantity: int,
        *,
        final: bool = False,
        actor: str,
        note: str = "",
    ) -> tuple[ProposalRecord, ReceiptOutcome]:
        """Goods received against an ordered proposal, once per ``receipt_id`` (``_proposals``)."""
        with write_conn(self._engine) as conn:
            outcome = record_receipt(
                conn, proposal_id, receipt_id, quantity, final, actor, note, self._clock()
            )
        return self.get_proposal(proposal_id), outcome

    def proposal_explanation(self, proposal_id: int) -> dict[str, Any]:
        """Every number behind a proposal, its flags, approval, receipts, webhooks and history."""
        with self._engine.connect() as conn:
            return explanation_view(conn, proposal_id)

    def put_plan(self, plan: PlanInput, *, actor: str) -> None:
        """The planner's inputs of one stock location (forecast, class, costs); the open,
        unapproved proposals are re-sized with them at once. Like catalog parameters, a plan
        is in effect in this process at once and in others within ``cache_ttl_s``."""
        with write_conn(self._engine) as conn:
            put_plan(conn, plan, actor, self._clock())
        self._catalog_changed()  # in effect here at once (other processes within cache_ttl_s)

    # -- webhook outbox ------------------------------------------------------------------

    def deliver_webhooks(self, client: Any = None) -> wh.DeliveryRun:
        """Send what is due in the outbox (the scheduler's ``webhook-delivery`` job)."""
        if self._webhooks is None or not self._webhooks.endpoints:
            return wh.DeliveryRun()
        import httpx

        if client is not None:
            return wh.deliver_due(self._engine, self._webhooks, client, clock=self._clock)
        with httpx.Client() as own:
            return wh.deliver_due(self._engine, self._webhooks, own, clock=self._clock)

    def list_webhooks(
        self,
        *,
        state: str | None = None,
        topic: str | None = None,
        group: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        sites: Sites = None,
    ) -> list[wh.DeliveryRecord]:
        """Deliveries, oldest first; ``sites``: only those of these stores (by their group)."""
        with self._engine.connect() as conn:
            visible = delivery_visible(sites, names_within(conn, sites)[1])
            return wh.list_deliveries(
                conn, state=state, topic=topic, group=group, limit=limit, offset=offset, visible=visible
            )

    def get_webhook(self, delivery_id: int, *, sites: Sites = None) -> wh.DeliveryRecord:
        """One delivery (``NotFound`` too when it is of no store of ``sites``)."""
        with self._engine.connect() as conn:
            visible = delivery_visible(sites, names_within(conn, sites)[1])
            found = wh.list_deliveries(conn, delivery_id=delivery_id, limit=1, visible=visible)
        if not found:
            raise NotFound("webhook delivery", delivery_id)
        return found[0]

    def redrive_webhook(self, delivery_id: int, *, actor: str) -> wh.DeliveryRecord:
        """A dead-lettered delivery back into the outbox with a fresh retry budget."""
        with write_conn(self._engine) as conn:
            wh.redrive(conn, delivery_id, actor, self._clock())
        return self.get_webhook(delivery_id)

    def webhook_counts(self) -> dict[str, int]:
        with self._engine.connect() as conn:
            return wh.outbox_counts(conn)

    def reject_proposal(self, proposal_id: int, *, actor: str, note: str = "") -> ProposalRecord:
        return self.transition_proposal(proposal_id, "rejected", actor=actor, note=note)

    # -- time-driven jobs (run by the cloud's scheduler) ------------------------------------

    def sweep_silence(
        self, *, gateway_timeout_s: float, device_timeout_s: float, listening_since_ns: int = 0
    ) -> SilenceSweep:
        """Open an alert per gateway / device silent past its timeout (0: never); resolve
        those heard again. See ``_silence`` for what silent means."""
        with write_conn(self._engine) as conn:
            return sweep_silence(
                conn,
                self._clock(),
                gateway_timeout_ns=int(gateway_timeout_s * 1e9),
                device_timeout_ns=int(device_timeout_s * 1e9),
                listening_since_ns=listening_since_ns,
                executor=self._applier.executor,
            )

    def escalate_alerts(self) -> list[int]:
        """Escalate the alerts left ``open`` (unacknowledged) past their severity's delay,
        once each (``_decisions``); their ids."""
        with write_conn(self._engine) as conn:
            return self._applier.executor.escalate(conn, self._clock())

    def auto_resolve_alerts(self) -> list[int]:
        """Resolve the alerts whose condition has been cleared for the policy's
        ``auto_resolve_after_s`` (``_alerts``); their ids."""
        with write_conn(self._engine) as conn:
            return self._applier.executor.auto_resolve(conn, self._clock())

    def claim_alert_notices(self, publish: Callable[[NoticeRecord], bool], *, limit: int = 100) -> int:
        """Hand the unpublished technicians' notices, oldest first, to ``publish``; those it
        took (True) are marked published in the same transaction. Rows are claimed with
        ``SKIP LOCKED``, so workers publishing at once never send one twice. The count."""
        with write_conn(self._engine) as conn:
            return claim_notices(conn, publish, self._clock(), limit)

    def list_fault_labels(
        self,
        *,
        asset_id: str | None = None,
        fault: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        sites: Sites = None,
    ) -> list[FaultLabelRecord]:
        """Faults technicians confirmed by closing their work orders: labels for training."""
        with self._engine.connect() as conn:
            return list_fault_labels(conn, asset_id, fault, limit, offset, sites)

    def review_replenishment(self) -> None:
        """Let the stock rule re-size the open, unapproved proposals (the revise path)."""
        with self._apply_lock:
            if self._applier.stale():
                with self._refresh_lock, self._engine.connect() as conn:
                    self._applier.refresh(conn)
            with write_conn(self._engine) as conn:
                self._applier.revise_proposals(conn)

    def changes(self, *, after: int = 0, limit: int = DEFAULT_LIMIT, sites: Sites = None) -> ChangesPage:
        """Domain events with ``id > after``, in id order, and the cursor for the next call
        (``_domain_events``: committed events only, ids visible in commit order); ``sites``:
        only the events about those stores (``_scope.audit_visible``)."""
        with self._engine.connect() as conn:
            visible = None if sites is None else audit_visible(sites, *names_within(conn, sites))
            return changes_since(conn, after, limit, visible)

    def latest_change_id(self) -> int:
        """The id of the newest committed domain event (0: none yet): where a live reader
        that wants only what happens from now on starts."""
        with self._engine.connect() as conn:
            return latest_change_id(conn)

    def event_sites(self, events: Sequence[AuditRecord]) -> dict[tuple[str, str], str | None]:
        """The store of each event's entity, ``(entity, entity_id) -> site`` (``_event_sites``;
        None: the event belongs to no store)."""
        with self._engine.connect() as conn:
            return event_sites(conn, events)

    def on_commit(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (from the committing thread; keep it short) whenever a writing
        transaction of this process commits, so a reader of ``changes`` need not wait for
        its next poll. It may run just before the commit is visible: the reader must still
        poll. Returns the function that removes it."""

        def committed(conn: Connection) -> None:
            if conn.get_execution_options().get(WRITE):
                callback()

        event.listen(self._engine, "commit", committed)
        return lambda: event.remove(self._engine, "commit", committed)

    def expire_commands(self, *, timeout_s: float) -> list[str]:
        """Commands still ``sent`` after ``timeout_s`` become ``expired``; their ids."""
        with write_conn(self._engine) as conn:
            return expire_commands(conn, self._clock(), int(timeout_s * 1e9))

    # -- queries -------------------------------------------------------------------------

    def list_gateways(
        self, *, site: str | None = None, registration: str | None = None, sites: Sites = None
    ) -> list[GatewayRecord]:
        with session(self._engine) as s:
            return q.list_gateways(s, site, registration, sites)

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
        sites: Sites = None,
    ) -> list[DeviceRecord]:
        with session(self._engine) as s:
            return q.list_devices(s, gateway, kind, limit, offset, sites)

    def catalog_mapping(self, *, gateway: str | None = None, sites: Sites = None) -> CatalogMapping:
        """Catalog devices no gateway has reported (unmatched) and reporting devices no catalog
        entry maps (unmapped): where a misnamed lane or sensor shows."""
        with session(self._engine) as s:
            return q.catalog_mapping(s, gateway, sites)

    def stock_levels(
        self, *, site: str | None = None, sku: str | None = None, sites: Sites = None
    ) -> list[StockLevelRecord]:
        with session(self._engine) as s:
            return q.stock_levels(s, site, sku, sites)

    def list_alerts(
        self,
        *,
        state: str | None = None,
        asset_id: str | None = None,
        site: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        where: AlertFilter | None = None,
        sites: Sites = None,
    ) -> list[AlertRecord]:
        """Alerts, newest first; ``where``: the feed's further filters (severity and up,
        condition, recipient, open only, changed since); ``sites``: of these stores only."""
        with session(self._engine) as s:
            return q.list_alerts(s, state, asset_id, site, limit, offset, where, sites)

    def get_alert(self, alert_id: int) -> AlertRecord:
        with session(self._engine) as s:
            return q.alert_record(q.get_one(s, Alert, ALERT.entity, alert_id))

    def list_work_orders(
        self,
        *,
        state: str | None = None,
        asset_id: str | None = None,
        alert_id: int | None = None,
        site: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        sites: Sites = None,
    ) -> list[WorkOrderRecord]:
        with session(self._engine) as s:
            return q.list_work_orders(s, state, asset_id, alert_id, site, limit, offset, sites)

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
        sites: Sites = None,
    ) -> list[ProposalRecord]:
        with session(self._engine) as s:
            return q.list_proposals(s, state, site, sku, limit, offset, sites)

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
        sites: Sites = None,
    ) -> list[AuditRecord]:
        """The audit trail in id order; ``sites``: only the entries about those stores."""
        with session(self._engine) as s:
            visible = None if sites is None else audit_visible(sites, *names_within(s, sites))
            return q.list_audit(s, entity, entity_id, limit, offset, visible)

    def asset_health(self, asset_id: str) -> AssetHealth:
        """The asset's score, state, open alerts and newest spectrum (``_asset_health``)."""
        with self._engine.connect() as conn:
            return asset_health(conn, asset_id)

    def fleet_kpis(self, *, start_ns: int, end_ns: int, sites: Sites = None) -> list[StoreKpis]:
        """Per store of ``sites``: alerts, work orders, MTTR, MTBF and stock figures of
        ``[start_ns, end_ns)`` (``_fleet_kpis``)."""
        if start_ns >= end_ns:
            raise InvalidValue("end_ns", "the period must end after it starts")
        with self._engine.connect() as conn:
            return fleet_kpis(conn, start=start_ns, end=end_ns, now=self._clock(), sites=sites)

    def list_events(
        self,
        *,
        kind: str | None = None,
        device: str | None = None,
        gateway: str | None = None,
        site: str | None = None,
        since_ns: int | None = None,
        until_ns: int | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        sites: Sites = None,
    ) -> list[EventRecord]:
        """Stored device events, newest event time first (``since_ns`` inclusive, ``until_ns`` exclusive)."""
        with self._engine.connect() as conn:
            return list_events(
                conn,
                kind=kind,
                device=device,
                gateway=gateway,
                site=site,
                since_ns=since_ns,
                until_ns=until_ns,
                limit=limit,
                offset=offset,
                sites=sites,
            )

    # -- item-level inventory (RFID, ``_inventory``) ----------------------------------------

    def inventory_zones(
        self,
        *,
        site: str | None = None,
        zone: str | None = None,
        sku: str | None = None,
        sites: Sites = None,
    ) -> list[ZoneCountRecord]:
        """Present items per site, zone and GTIN/SKU, with the zone's newest snapshot."""
        with self._engine.connect() as conn:
            return zone_counts(conn, site=site, zone=zone, sku=sku, sites=sites)

    def inventory_item(
        self, epc: str, *, site: str | None = None, history_limit: int = DEFAULT_LIMIT, sites: Sites = None
    ) -> ItemView:
        """An item's state per site and its history, newest first (``NotFound`` if never seen
        in ``sites``)."""
        with self._engine.connect() as conn:
            return item_view(conn, epc, site=site, history_limit=history_limit, sites=sites)

    def inventory_departures(
        self,
        *,
        site: str | None = None,
        since_ns: int | None = None,
        until_ns: int | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        sites: Sites = None,
    ) -> list[DepartureRecord]:
        """Items departed from a door zone, newest event first, each with the sale of its SKU
        it was matched to within the stock settings' ``departure_window_s`` (``_ledger``)."""
        window = int(self._applier.truth.settings.departure_window_s * 1e9)
        with self._engine.connect() as conn:
            found = list_departures(
                conn,
                site=site,
                since_ns=since_ns,
                until_ns=until_ns,
                limit=limit,
                offset=offset,
                sites=sites,
            )
            return with_sales(conn, found, window)

    def list_quarantine(
        self,
        *,
        reason: str | None = None,
        gateway: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        sites: Sites = None,
    ) -> list[QuarantineRecord]:
        """Quarantined batches, newest first; ``sites``: of those stores' gateways only."""
        with session(self._engine) as s:
            return q.list_quarantine(s, reason, gateway, limit, offset, sites=sites)

    def summary(self, *, sites: Sites = None) -> dict[str, Any]:
        """Counts for dashboards and the demo: gateways by state, alerts, work orders,
        proposals…; ``sites``: of those stores only."""
        with session(self._engine) as s:
            audit = None if sites is None else audit_visible(sites, *names_within(s, sites))
            return q.summary(s, sites, audit)

    # -- stock truth and book stock (``_stock_truth``, ``_ledger``, ``_stock_read``) --------

    @property
    def stock_settings(self) -> StockSettings:
        return self._applier.truth.settings

    def record_transactions(self, batch: PosBatch, *, actor: str) -> list[TransactionResult]:
        """Take a sender's batch of sales, receipts and adjustments into the ledger whole or not
        at all (``InvalidValue`` names the first bad line); a repeated transaction id is a
        ``duplicate``, skipped."""
        with write_conn(self._engine) as conn:
            return record_transactions(conn, batch, actor=actor, now=self._clock())

    def ledger(
        self,
        *,
        site: str | None = None,
        sku: str | None = None,
        location: str | None = None,
        kind: str | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        sites: Sites = None,
    ) -> list[LedgerRecord]:
        """Ledger movements, newest first."""
        with self._engine.connect() as conn:
            return list_ledger(
                conn,
                site=site,
                sku=sku,
                location=location,
                kind=kind,
                limit=limit,
                offset=offset,
                sites=sites,
            )

    def sensed_stock(
        self, *, site: str | None = None, sku: str | None = None, sites: Sites = None
    ) -> list[SensedStockRecord]:
        """Per stock location: the one sensed number with its source, confidence and trust,
        both sources, the lanes' states, and book stock with the difference."""
        with self._engine.connect() as conn:
            return sensed_stock(conn, site=site, sku=sku, sites=sites)

    def sensed_rollup(self, *, by: str, site: str | None = None, sites: Sites = None) -> list[RollupRecord]:
        """Sensed stock per shelf (``by="shelf"``) or per store and SKU (``by="store"``)."""
        if by not in ("shelf", "store"):
            raise InvalidValue("by", f"{by!r} is not one of ['shelf', 'store']")
        with self._engine.connect() as conn:
            return sensed_rollup(conn, by=by, site=site, sites=sites)

    def stock_outages(
        self,
        *,
        site: str | None = None,
        sku: str | None = None,
        since_ns: int | None = None,
        until_ns: int | None = None,
        open_only: bool = False,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        sites: Sites = None,
    ) -> list[OutageRecord]:
        """Out-of-stock periods overlapping ``[since, until)`` with duration and lost-sales estimate."""
        with self._engine.connect() as conn:
            return list_outages(
                conn,
                site=site,
                sku=sku,
                since_ns=since_ns,
                until_ns=until_ns,
                open_only=open_only,
                now=self._clock(),
                limit=limit,
                offset=offset,
                sites=sites,
            )

    def stock_outage_totals(
        self,
        *,
        since_ns: int,
        until_ns: int,
        site: str | None = None,
        sku: str | None = None,
        sites: Sites = None,
    ) -> list[OutageTotalRecord]:
        """Per site and SKU: out-of-stock time in ``[since, until)`` and the lost-sales estimate."""
        with self._engine.connect() as conn:
            return outage_totals(
                conn,
                site=site,
                sku=sku,
                since_ns=since_ns,
                until_ns=until_ns,
                now=self._clock(),
                sites=sites,
            )

    def stock_heatmap(
        self, *, since_ns: int, until_ns: int, site: str | None = None, sites: Sites = None
    ) -> list[HeatCellRecord]:
        """Out-of-stock minutes per site × aisle/shelf × UTC hour."""
        with self._engine.connect() as conn:
            return heatmap(
                conn, site=site, since_ns=since_ns, until_ns=until_ns, now=self._clock(), sites=sites
            )

    def sweep_stock(self) -> dict[str, int]:
        """Phantom inventory, likely shrink and unsold door departures (the scheduler's
        ``stock-watch`` job); how many alerts each opened."""
        with self._apply_lock:
            if self._applier.stale():
                with self._refresh_lock, self._engine.connect() as conn:
                    self._applier.refresh(conn)
            with write_conn(self._engine) as conn:
                return self._applier.truth.sweep(conn, self._applier.cache, self._clock())
