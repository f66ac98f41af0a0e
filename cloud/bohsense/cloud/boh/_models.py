"""The BOH tables (SQLAlchemy 2 typed declarative). Times are integer ns since the epoch, UTC.

The initial Alembic migration creates exactly these; a change here needs a new migration.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Alert",
    "AlertNotice",
    "ApiKey",
    "Asset",
    "AuditEntry",
    "Base",
    "BookStock",
    "ConditionRule",
    "Device",
    "DeviceEvent",
    "FaultLabel",
    "Gateway",
    "GatewayCommandRow",
    "IngestSeq",
    "Lane",
    "LaneSensing",
    "LedgerEntry",
    "MaintenanceGuide",
    "PosTransaction",
    "ProposalReceipt",
    "QuarantineRow",
    "RefreshToken",
    "ReplenishmentPlan",
    "ReplenishmentProposal",
    "RfidItem",
    "RfidItemEvent",
    "RfidZoneSnapshot",
    "RuleState",
    "SensedChange",
    "SensedStock",
    "Site",
    "SiteZone",
    "Sku",
    "StockLevel",
    "StockLocation",
    "StockOutage",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WorkOrder",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The predicates of the "one open per key" partial unique indexes; they must list the
#: ``open`` states of the lifecycles in ``_lifecycle`` (a test checks they agree).
OPEN_ALERT_WHERE = "state IN ('open', 'acknowledged')"
#: one open alert per subject (a gateway or device gone silent) and condition
OPEN_SUBJECT_WHERE = OPEN_ALERT_WHERE + " AND subject <> ''"
OPEN_PROPOSAL_WHERE = "state IN ('proposed', 'approved', 'ordered')"
#: one open work order per alert (the alert engine's; work orders by hand have no alert)
OPEN_WORK_ORDER_WHERE = "state IN ('open', 'in_progress', 'done') AND alert_id IS NOT NULL"


def _empty() -> list[Any]:
    return []


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, int: BigInteger}


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    #: set when retired from the catalog (kept for the history that refers to it)
    retired_ns: Mapped[int | None]


class Gateway(Base):
    __tablename__ = "gateways"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="unknown")  # online / offline / lost
    last_status_ns: Mapped[int | None]
    #: the connection epoch of the recorded status (GatewayStatus.epoch; None: none given)
    status_epoch: Mapped[int | None]
    version: Mapped[str] = mapped_column(String(64), default="")
    dropped: Mapped[int] = mapped_column(default=0)
    #: readings the gateway dropped after sending them (GatewayStatus.dropped_in_doubt)
    dropped_in_doubt: Mapped[int] = mapped_column(default=0, server_default="0")
    next_seq: Mapped[int] = mapped_column(default=0)
    outbox_depth: Mapped[int] = mapped_column(default=0)
    #: every seq <= watermark is applied (or below a floor the gateway declared)
    watermark: Mapped[int] = mapped_column(default=0)
    #: "catalog" (the catalog put it at ``site``), "auto" (auto-register mode: ``site`` is what
    #: it claimed) or "pending" (unknown: its batches are held in quarantine)
    registration: Mapped[str] = mapped_column(String(16), default="catalog", server_default="catalog")
    #: the site the gateway's own messages name (never moves a catalog gateway)
    claimed_site: Mapped[str] = mapped_column(String(64), default="", server_default="")
    #: set when retired from the catalog (kept for the history that refers to it)
    retired_ns: Mapped[int | None]


class IngestSeq(Base):
    """Applied seqs above their gateway's watermark (gaps not yet filled). Pruned as it moves."""

    __tablename__ = "ingest_seq"
    gateway: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)


class Asset(Base):
    __tablename__ = "assets"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(64), default="")
    #: set when retired from the catalog (kept for the history that refers to it)
    retired_ns: Mapped[int | None]
    #: who is told of the asset's alerts, in escalation order (migration 0015)
    recipients: Mapped[list[Any]] = mapped_column(JSON, default=_empty, server_default=text("'[]'"))


class ConditionRule(Base):
    """A condition rule of an asset and the phase its engine reports (its state: ``RuleState``)."""

    __tablename__ = "condition_rules"
    __table_args__ = (UniqueConstraint("asset_id", "condition"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    condition: Mapped[str] = mapped_column(String(64))
    metric: Mapped[str] = mapped_column(String(128))
    limit_value: Mapped[float] = mapped_column(Float)
    clear_below: Mapped[float] = mapped_column(Float)
    min_duration_s: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    what_to_check: Mapped[str] = mapped_column(Text, default="")
    #: normal / over / fault / clearing, as the rule's engine reports it
    phase: Mapped[str] = mapped_column(String(16), default="normal")
    #: set when retired from the catalog (kept for the history that refers to it)
    retired_ns: Mapped[int | None]
    #: "threshold" (``metric`` against ``limit``) or "detector" (a model file on ``metrics``)
    engine: Mapped[str] = mapped_column(String(16), default="threshold", server_default="threshold")
    #: the feature metrics a detector rule watches (a threshold rule: empty, it has ``metric``)
    metrics: Mapped[list[Any]] = mapped_column(JSON, default=_empty, server_default=text("'[]'"))
    #: the model file of a detector rule (its name; the version is the file's)
    model: Mapped[str] = mapped_column(String(64), default="", server_default="")
    #: work orders of this rule's alerts closed ``no_fault_found``: each lowers its confidence
    no_fault_found: Mapped[int] = mapped_column(default=0, server_default="0")


class RuleState(Base):
    """A rule's running state for one subject, opaque to the core (the engine's JSON).

    ``seen_until_ns`` is the newest event time fed to the rule: the core never feeds it a
    point at or before it, so a reset (``state`` None: a restored rule watches afresh)
    does not rewind it into readings it has already seen.
    """

    __tablename__ = "rule_state"
    rule_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    seen_until_ns: Mapped[int | None]
    updated_ns: Mapped[int]


class Sku(Base):
    __tablename__ = "skus"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(32), default="unit")
    pack_size: Mapped[int] = mapped_column(default=1)
    #: the SKU's GTIN-14 (check digit included), "" when it has none (migration 0013)
    gtin: Mapped[str] = mapped_column(String(14), default="", server_default="")
    #: set when retired from the catalog (kept for the history that refers to it)
    retired_ns: Mapped[int | None]


class StockLocation(Base):
    """Where a SKU is kept in a site, with its replenishment parameters (units)."""

    __tablename__ = "stock_locations"
    __table_args__ = (UniqueConstraint("site", "sku", "location"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    sku: Mapped[str] = mapped_column(ForeignKey("skus.sku"))
    location: Mapped[str] = mapped_column(String(128))
    min_units: Mapped[float] = mapped_column(Float)  # reorder point
    target_units: Mapped[float] = mapped_column(Float)  # order-up-to level
    safety_stock: Mapped[float] = mapped_column(Float, default=0.0)
    #: set when retired from the catalog (kept for the history that refers to it)
    retired_ns: Mapped[int | None]
    #: where it is in the store (the out-of-stock heat map's rows), "" when not given (0014)
    aisle: Mapped[str] = mapped_column(String(64), default="", server_default="")
    shelf: Mapped[str] = mapped_column(String(64), default="", server_default="")
    #: the RFID zone that covers it: tagged items of its SKU there are counted (0014)
    zone: Mapped[str] = mapped_column(String(128), default="", server_default="")


class Lane(Base):
    """One sensed lane of a stock location: the lane sensor's newest ``units`` by event time."""

    __tablename__ = "lanes"
    __table_args__ = (UniqueConstraint("gateway", "device"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    gateway: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(128))
    units: Mapped[float | None] = mapped_column(Float)
    units_ts_ns: Mapped[int | None]
    #: set when retired from the catalog (kept for the history that refers to it)
    retired_ns: Mapped[int | None]


class StockLevel(Base):
    __tablename__ = "stock_levels"
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(128))
    units: Mapped[float] = mapped_column(Float)
    as_of_ns: Mapped[int]


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("gateway", "device"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gateway: Mapped[str] = mapped_column(ForeignKey("gateways.id"))
    device: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32), default="unknown")  # asset / lane / unknown
    asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id"))
    lane_id: Mapped[int | None] = mapped_column(ForeignKey("lanes.id"))
    first_seen_ns: Mapped[int | None]
    last_seen_ns: Mapped[int | None]


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_open_asset_condition",
            "asset_id",
            "condition",
            unique=True,
            sqlite_where=text(OPEN_ALERT_WHERE),
            postgresql_where=text(OPEN_ALERT_WHERE),
        ),
        Index(
            "uq_alerts_open_subject_condition",
            "subject",
            "condition",
            unique=True,
            sqlite_where=text(OPEN_SUBJECT_WHERE),
            postgresql_where=text(OPEN_SUBJECT_WHERE),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the asset of a condition alert; None for an alert about a gateway or unmapped device
    asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id"))
    #: what a non-condition alert is about (``gateway:<id>``, ``device:<gw>/<dev>``), else ""
    subject: Mapped[str] = mapped_column(String(200), default="", server_default="")
    site: Mapped[str] = mapped_column(String(64))
    condition: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    opened_ns: Mapped[int]
    updated_ns: Mapped[int]
    cleared_ns: Mapped[int | None]
    evidence: Mapped[dict[str, Any]]
    what_to_check: Mapped[str] = mapped_column(Text, default="")
    #: raised by each escalation (``_decisions``: left unacknowledged past its severity's delay)
    escalation_level: Mapped[int] = mapped_column(default=0, server_default="0")
    #: when the alert escalates if still unacknowledged (None: it does not)
    escalate_at_ns: Mapped[int | None]
    #: how often the fault was confirmed (a recurrence counts here instead of a new alert)
    occurrences: Mapped[int] = mapped_column(default=1, server_default="1")
    #: event time of the newest occurrence counted (an occurrence not newer is a duplicate)
    last_occurrence_ns: Mapped[int | None]
    #: times a recurrence within the reopen window reopened it after it was resolved
    reopened: Mapped[int] = mapped_column(default=0, server_default="0")
    resolved_ns: Mapped[int | None]
    #: the condition rule that raised it (None: an alarm or a silence alert)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("condition_rules.id"))
    #: the model file and version (``<name>@<version>``) or the rule engine that decided
    model: Mapped[str] = mapped_column(String(128), default="", server_default="")
    #: who is told, in order: escalation adds the next recipient of the asset's list
    recipients: Mapped[list[Any]] = mapped_column(JSON, default=_empty, server_default=text("'[]'"))


class WorkOrder(Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        Index(
            "uq_work_orders_open_alert",
            "alert_id",
            unique=True,
            sqlite_where=text(OPEN_WORK_ORDER_WHERE),
            postgresql_where=text(OPEN_WORK_ORDER_WHERE),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    site: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32), default="maintenance")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_ns: Mapped[int]
    updated_ns: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    # what a CMMS keeps
    priority: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    assignee: Mapped[str] = mapped_column(String(64), default="", server_default="")
    due_ns: Mapped[int | None]
    parts: Mapped[list[Any]] = mapped_column(JSON, default=_empty)
    labour: Mapped[list[Any]] = mapped_column(JSON, default=_empty)
    resolution_code: Mapped[str] = mapped_column(String(64), default="", server_default="")
    root_cause: Mapped[str] = mapped_column(Text, default="", server_default="")
    notes: Mapped[list[Any]] = mapped_column(JSON, default=_empty)
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=_empty)
    #: why it was created: the fault's evidence, diagnosis, feature trend (migration 0015)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    #: recommended checks and spare parts from the catalog's maintenance guides
    checks: Mapped[list[Any]] = mapped_column(JSON, default=_empty, server_default=text("'[]'"))
    spare_parts: Mapped[list[Any]] = mapped_column(JSON, default=_empty, server_default=text("'[]'"))


class ReplenishmentProposal(Base):
    __tablename__ = "replenishment_proposals"
    __table_args__ = (
        Index(
            "uq_replenishment_open_sku_location",
            "site",
            "sku",
            "location",
            unique=True,
            sqlite_where=text(OPEN_PROPOSAL_WHERE),
            postgresql_where=text(OPEN_PROPOSAL_WHERE),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    site: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), index=True)
    sensed_units: Mapped[float] = mapped_column(Float)
    reorder_point: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    safety_stock: Mapped[float] = mapped_column(Float)
    pack_size: Mapped[int]
    quantity: Mapped[int]
    explanation: Mapped[dict[str, Any]]
    created_ns: Mapped[int]
    updated_ns: Mapped[int]
    #: "rule" while the stock rule sizes it (it follows falling stock), "planner" once set by hand
    quantity_source: Mapped[str] = mapped_column(String(16), default="rule", server_default="rule")
    priority: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    #: what looks abnormal against history: [{"flag": ..., "reason": ...}] (migration 0016)
    flags: Mapped[list[Any]] = mapped_column(JSON, default=_empty)
    #: "auto" (under the class's thresholds) or "human" once approved; "" before
    approval: Mapped[str] = mapped_column(String(16), default="", server_default="")
    #: units received so far (receipts); on order = quantity - received_units while ordered
    received_units: Mapped[int] = mapped_column(default=0, server_default="0")
    #: 0 when opened, +1 at each re-size by the stock rule
    revision: Mapped[int] = mapped_column(default=0, server_default="0")


class ReplenishmentPlan(Base):
    """The planner's inputs for one stock location: the forecast over the lead time with its
    spread, the class and service level, costs for the EOQ, order constraints (migration 0016).
    A location without a plan is sized from the catalog's reorder point and target."""

    __tablename__ = "replenishment_plans"
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"), primary_key=True)
    abc: Mapped[str] = mapped_column(String(1))
    xyz: Mapped[str] = mapped_column(String(1))
    service_level: Mapped[float] = mapped_column(Float)
    lead_time_days: Mapped[int]
    #: mean forecast demand per day (units), for the EOQ's yearly demand
    daily_mean: Mapped[float] = mapped_column(Float)
    #: mean and variance of the demand over the lead time (units)
    lead_time_mean: Mapped[float] = mapped_column(Float)
    lead_time_var: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(32))
    unit_cost: Mapped[float | None] = mapped_column(Float)
    ordering_cost: Mapped[float | None] = mapped_column(Float)
    #: holding cost per year as a fraction of the unit cost
    holding_rate: Mapped[float | None] = mapped_column(Float)
    min_order: Mapped[int] = mapped_column(default=0)
    shelf_capacity: Mapped[float | None] = mapped_column(Float)
    as_of_ns: Mapped[int]
    updated_ns: Mapped[int]


class ProposalReceipt(Base):
    """A receipt of goods against an ordered proposal, once per receipt id (migration 0016)."""

    __tablename__ = "proposal_receipts"
    receipt_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("replenishment_proposals.id"), index=True)
    quantity: Mapped[int]
    final: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    received_ns: Mapped[int]


class WebhookDelivery(Base):
    """One webhook in the outbox: its exact body, idempotency key and delivery state
    (``pending`` → ``delivered`` | ``dead``; a dead one can be re-driven). Deliveries of one
    ``group_key`` go out one at a time in id order (migration 0016)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_group", "group_key", "state"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    group_key: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    #: attempts made before the last re-drive (the retry budget counts from there)
    budget_from: Mapped[int] = mapped_column(default=0)
    next_attempt_ns: Mapped[int]
    lease_until_ns: Mapped[int] = mapped_column(default=0)
    created_ns: Mapped[int]
    delivered_ns: Mapped[int | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(Text, default="")


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: when, how long, the answer or the error."""

    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempt: Mapped[int]
    at_ns: Mapped[int]
    duration_ms: Mapped[float] = mapped_column(Float)
    status: Mapped[int | None]
    error: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(16))


class AuditEntry(Base):
    """A domain event (``_domain_events``); its id is the cursor of ``GET /changes``."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), default="", server_default="")
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(128))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    at_ns: Mapped[int]
    detail: Mapped[dict[str, Any]]


class QuarantineRow(Base):
    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(Text)
    gateway: Mapped[str] = mapped_column(String(64), default="", index=True)
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # whole, or its first bytes when large
    received_ns: Mapped[int]
    payload_size: Mapped[int] = mapped_column(default=0, server_default="0")
    payload_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")


class GatewayCommandRow(Base):
    """A command sent to a gateway and what became of it (migration 0002)."""

    __tablename__ = "gateway_commands"
    __table_args__ = (Index("ix_gateway_commands_gateway", "gateway", "created_ns"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(64))
    command: Mapped[str] = mapped_column(String(128))
    args: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))  # sent / succeeded / failed
    reason: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(String(1024), default="")
    actor: Mapped[str] = mapped_column(String(64))
    created_ns: Mapped[int]
    updated_ns: Mapped[int]


class DeviceEvent(Base):
    """A device event of an applied batch (migration 0011): its place in the batch, kind,
    event time and decoded attributes. Written once per ``(gateway, seq, idx)``."""

    __tablename__ = "device_events"
    __table_args__ = (
        UniqueConstraint("gateway", "seq", "idx"),
        Index("ix_device_events_ts", "ts_ns"),
        Index("ix_device_events_device", "gateway", "device", "ts_ns"),
        Index("ix_device_events_kind", "kind", "ts_ns"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gateway: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
    #: the event's position in the batch as its gateway sent it
    idx: Mapped[int] = mapped_column(Integer)
    device: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(64))
    ts_ns: Mapped[int]
    attrs: Mapped[dict[str, Any]]
    received_ns: Mapped[int]


class SiteZone(Base):
    """A zone of a site where RFID readers place items, and its kind (migration 0013):
    ``floor``, ``backroom`` or ``door`` (an item departing a door has left the store)."""

    __tablename__ = "site_zones"
    __table_args__ = (UniqueConstraint("site", "zone"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(ForeignKey("sites.id"))
    zone: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    #: set when retired from the catalog (kept for the history that refers to it)
    retired_ns: Mapped[int | None]


class RfidItem(Base):
    """The newest state of one tagged item in a site (migration 0013), by event time: the
    ``rfid.item`` event with the greatest ``(ts_ns, gateway, seq, idx)`` seen for it."""

    __tablename__ = "rfid_items"
    __table_args__ = (Index("ix_rfid_items_zone", "site", "zone", "present"),)
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    epc: Mapped[str] = mapped_column(String(124), primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14))
    serial: Mapped[str] = mapped_column(String(20))
    zone: Mapped[str] = mapped_column(String(128))
    present: Mapped[bool] = mapped_column(Boolean)
    transition: Mapped[str] = mapped_column(String(16))
    ts_ns: Mapped[int]
    gateway: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
    idx: Mapped[int] = mapped_column(Integer)
    reader: Mapped[str] = mapped_column(String(128))
    antenna: Mapped[int] = mapped_column(Integer)
    rssi_dbm: Mapped[float] = mapped_column(Float)
    #: the earliest event time seen for the item in the site
    first_seen_ns: Mapped[int]
    updated_ns: Mapped[int]


class RfidItemEvent(Base):
    """One applied ``rfid.item`` event, the history of its item (migration 0013).

    ``zone_kind`` is the kind the catalog gave the zone when the event was applied ("" for
    a zone it does not list); ``backfilled`` says the event was older than the item's state
    when it arrived, so it went into the history only."""

    __tablename__ = "rfid_item_events"
    __table_args__ = (
        UniqueConstraint("gateway", "seq", "idx"),
        Index("ix_rfid_item_events_item", "site", "epc", "ts_ns"),
        Index("ix_rfid_item_events_departures", "transition", "zone_kind", "ts_ns"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    epc: Mapped[str] = mapped_column(String(124))
    gateway: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
    idx: Mapped[int] = mapped_column(Integer)
    device: Mapped[str] = mapped_column(String(128))
    ts_ns: Mapped[int]
    transition: Mapped[str] = mapped_column(String(16))
    zone: Mapped[str] = mapped_column(String(128))
    from_zone: Mapped[str] = mapped_column(String(128))
    zone_kind: Mapped[str] = mapped_column(String(16))
    reader: Mapped[str] = mapped_column(String(128))
    antenna: Mapped[int] = mapped_column(Integer)
    rssi_dbm: Mapped[float] = mapped_column(Float)
    reads: Mapped[int]
    gtin: Mapped[str] = mapped_column(String(14))
    serial: Mapped[str] = mapped_column(String(20))
    backfilled: Mapped[bool] = mapped_column(Boolean)
    received_ns: Mapped[int]


class RfidZoneSnapshot(Base):
    """The newest ``rfid.zone_snapshot`` of a zone by event time (migration 0013), kept to
    reconcile the item-level count with what the readers counted."""

    __tablename__ = "rfid_zone_snapshots"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    zone: Mapped[str] = mapped_column(String(128), primary_key=True)
    ts_ns: Mapped[int]
    gateway: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
    idx: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, Any]]
    other: Mapped[int]
    received_ns: Mapped[int]


# -- stock truth (migration 0014): sensed stock with its source, book stock, outages -------


class LaneSensing(Base):
    """What the lane's own events say of it (migration 0014): its newest ``shelf.lane_state``
    by ``(ts_ns, gateway, seq, idx)`` (``state`` "" until one arrives) and the confidence
    of its newest event. A lane in ``fault`` or ``unfit`` makes its location's weight count
    untrusted."""

    __tablename__ = "lane_sensing"
    lane_id: Mapped[int] = mapped_column(ForeignKey("lanes.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    state_ts_ns: Mapped[int]
    gateway: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
    idx: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    confidence_ts_ns: Mapped[int]
    updated_ns: Mapped[int]


class SensedStock(Base):
    """One stock truth per stock location (migration 0014): the weight count, the RFID count
    and what they make together (``units``, ``source``, ``confidence``); ``units`` is None
    while the count cannot be trusted (a lane in fault, no source left)."""

    __tablename__ = "sensed_stock"
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(128))
    units: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    trusted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(300))
    weight_units: Mapped[float | None] = mapped_column(Float)
    weight_trusted: Mapped[bool] = mapped_column(Boolean)
    rfid_units: Mapped[int | None]
    disagreement: Mapped[bool] = mapped_column(Boolean)
    as_of_ns: Mapped[int]
    updated_ns: Mapped[int]
    last_trusted_units: Mapped[float | None] = mapped_column(Float)
    last_trusted_ns: Mapped[int | None]
    #: since when the trusted count has been 0 (None: it is not)
    empty_since_ns: Mapped[int | None]


class SensedChange(Base):
    """A change of a location's trusted sensed count (migration 0014), by event time."""

    __tablename__ = "sensed_changes"
    __table_args__ = (Index("ix_sensed_changes_location", "location_id", "ts_ns"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    ts_ns: Mapped[int]
    units_before: Mapped[float | None] = mapped_column(Float)
    units_after: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))


class BookStock(Base):
    """The book stock of a stock location (migration 0014): the sum of its ledger."""

    __tablename__ = "book_stock"
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(128))
    units: Mapped[float] = mapped_column(Float)
    last_sale_ns: Mapped[int | None]
    updated_ns: Mapped[int]


class PosTransaction(Base):
    """A sender's transaction taken into the ledger once (migration 0014)."""

    __tablename__ = "pos_transactions"
    sender: Mapped[str] = mapped_column(String(64), primary_key=True)
    txn_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    site: Mapped[str] = mapped_column(String(64))
    lines: Mapped[int]
    occurred_ns: Mapped[int]
    received_ns: Mapped[int]
    actor: Mapped[str] = mapped_column(String(64))


class LedgerEntry(Base):
    """One movement of book stock (migration 0014), append-only: a sale (negative), a
    receipt (positive) or an adjustment (either), with the balance it left."""

    __tablename__ = "inventory_ledger"
    __table_args__ = (
        Index("ix_inventory_ledger_location", "location_id", "occurred_ns"),
        Index("ix_inventory_ledger_sku", "site", "sku", "kind", "occurred_ns"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    site: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[float] = mapped_column(Float)
    balance_after: Mapped[float] = mapped_column(Float)
    sender: Mapped[str] = mapped_column(String(64))
    txn_id: Mapped[str] = mapped_column(String(128))
    line: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    occurred_ns: Mapped[int]
    received_ns: Mapped[int]


class StockOutage(Base):
    """A period a stock location's trusted count was 0 (migration 0014); ``ended_ns`` None
    while it lasts. ``rate_per_h`` is the sales rate before it began (``rate_source``:
    ``pos`` sales, ``sensed`` picks, ``none``), the base of the lost-sales estimate."""

    __tablename__ = "stock_outages"
    __table_args__ = (
        Index("ix_stock_outages_location", "location_id", "started_ns"),
        Index("ix_stock_outages_site", "site", "started_ns"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    site: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(128))
    started_ns: Mapped[int]
    ended_ns: Mapped[int | None]
    rate_per_h: Mapped[float] = mapped_column(Float)
    rate_source: Mapped[str] = mapped_column(String(16))


class MaintenanceGuide(Base):
    """Recommended checks and spare parts for an asset kind and fault type (``fault`` ""
    applies to every fault of the kind; ``kind`` "" to every kind)."""

    __tablename__ = "maintenance_guides"
    __table_args__ = (UniqueConstraint("kind", "fault"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    fault: Mapped[str] = mapped_column(String(64))
    checks: Mapped[list[Any]] = mapped_column(JSON, default=_empty)
    spare_parts: Mapped[list[Any]] = mapped_column(JSON, default=_empty)
    retired_ns: Mapped[int | None]


class AlertNotice(Base):
    """The outbox of technicians' alert notices: written in the transaction that changed
    the alert, published on MQTT after it committed (``published_ns`` set)."""

    __tablename__ = "alert_notices"
    __table_args__ = (Index("ix_alert_notices_unpublished", "published_ns", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    gateway: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    created_ns: Mapped[int]
    published_ns: Mapped[int | None]


class FaultLabel(Base):
    """A fault a technician confirmed by closing its work order: a label for training."""

    __tablename__ = "fault_labels"
    __table_args__ = (UniqueConstraint("work_order_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    site: Mapped[str] = mapped_column(String(64))
    #: the alert's fault type (the diagnosed class when a diagnosis named one)
    fault: Mapped[str] = mapped_column(String(64))
    resolution_code: Mapped[str] = mapped_column(String(64))
    root_cause: Mapped[str] = mapped_column(Text, default="")
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    model: Mapped[str] = mapped_column(String(128), default="")
    #: event time of the fault: first over its threshold .. confirmed
    start_ns: Mapped[int | None]
    end_ns: Mapped[int | None]
    evidence: Mapped[dict[str, Any]]
    created_ns: Mapped[int]


class User(Base):
    """A person who signs in to the API (``bohsense.cloud.identity``). ``sites`` None: every
    store. ``password_hash`` is an argon2id hash; "" means no password (cannot sign in)."""

    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(32))
    sites: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(16))
    created_ns: Mapped[int]
    updated_ns: Mapped[int]


class ApiKey(Base):
    """A machine's API key: ``bsk_<prefix>_<secret>``; only the secret's SHA-256 is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("prefix"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=_empty)
    sites: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_ns: Mapped[int]
    expires_ns: Mapped[int | None]
    revoked_ns: Mapped[int | None]
    last_used_ns: Mapped[int | None]


class RefreshToken(Base):
    """A refresh token (its SHA-256): one use each; a ``family`` is the chain of tokens of one
    sign-in, all revoked when a used one comes back."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family", "family"),)
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family: Mapped[str] = mapped_column(String(32))
    user_name: Mapped[str] = mapped_column(ForeignKey("users.name"), index=True)
    issued_ns: Mapped[int]
    expires_ns: Mapped[int]
    #: set when it was exchanged for the next token of its family
    used_ns: Mapped[int | None]
    revoked_ns: Mapped[int | None]
