"""The alert engine: occurrences, reopening, model versions and recipients of alerts;
detector rules; work order evidence, checks and spare parts; maintenance guides; the
outbox of technicians' alert notices; fault labels from closed work orders.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY_LIST = sa.text("'[]'")
EMPTY_OBJECT = sa.text("'{}'")
OPEN_WORK_ORDER_WHERE = "state IN ('open', 'in_progress', 'done') AND alert_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("assets", schema=None) as b:
        b.add_column(sa.Column("recipients", sa.JSON(), server_default=EMPTY_LIST, nullable=False))
    with op.batch_alter_table("condition_rules", schema=None) as b:
        b.add_column(sa.Column("engine", sa.String(length=16), server_default="threshold", nullable=False))
        b.add_column(sa.Column("metrics", sa.JSON(), server_default=EMPTY_LIST, nullable=False))
        b.add_column(sa.Column("model", sa.String(length=64), server_default="", nullable=False))
        b.add_column(sa.Column("no_fault_found", sa.BigInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("alerts", schema=None) as b:
        b.add_column(sa.Column("occurrences", sa.BigInteger(), server_default="1", nullable=False))
        b.add_column(sa.Column("last_occurrence_ns", sa.BigInteger(), nullable=True))
        b.add_column(sa.Column("reopened", sa.BigInteger(), server_default="0", nullable=False))
        b.add_column(sa.Column("resolved_ns", sa.BigInteger(), nullable=True))
        b.add_column(sa.Column("rule_id", sa.Integer(), nullable=True))
        b.add_column(sa.Column("model", sa.String(length=128), server_default="", nullable=False))
        b.add_column(sa.Column("recipients", sa.JSON(), server_default=EMPTY_LIST, nullable=False))
        b.create_foreign_key("fk_alerts_rule_id_condition_rules", "condition_rules", ["rule_id"], ["id"])
    with op.batch_alter_table("work_orders", schema=None) as b:
        b.add_column(sa.Column("evidence", sa.JSON(), server_default=EMPTY_OBJECT, nullable=False))
        b.add_column(sa.Column("checks", sa.JSON(), server_default=EMPTY_LIST, nullable=False))
        b.add_column(sa.Column("spare_parts", sa.JSON(), server_default=EMPTY_LIST, nullable=False))
    op.create_index(
        "uq_work_orders_open_alert",
        "work_orders",
        ["alert_id"],
        unique=True,
        sqlite_where=sa.text(OPEN_WORK_ORDER_WHERE),
        postgresql_where=sa.text(OPEN_WORK_ORDER_WHERE),
    )
    op.create_table(
        "maintenance_guides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("fault", sa.String(length=64), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("spare_parts", sa.JSON(), nullable=False),
        sa.Column("retired_ns", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_maintenance_guides"),
        sa.UniqueConstraint("kind", "fault", name="uq_maintenance_guides_kind"),
    )
    op.create_table(
        "alert_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_ns", sa.BigInteger(), nullable=False),
        sa.Column("published_ns", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_alert_notices_alert_id_alerts"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_notices"),
    )
    op.create_index("ix_alert_notices_unpublished", "alert_notices", ["published_ns", "id"])
    op.create_table(
        "fault_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("fault", sa.String(length=64), nullable=False),
        sa.Column("resolution_code", sa.String(length=64), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=True),
        sa.Column("end_ns", sa.BigInteger(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name="fk_fault_labels_asset_id_assets"),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_fault_labels_alert_id_alerts"),
        sa.ForeignKeyConstraint(
            ["work_order_id"], ["work_orders.id"], name="fk_fault_labels_work_order_id_work_orders"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_fault_labels"),
        sa.UniqueConstraint("work_order_id", name="uq_fault_labels_work_order_id"),
    )


def downgrade() -> None:
    op.drop_table("fault_labels")
    op.drop_index("ix_alert_notices_unpublished", table_name="alert_notices")
    op.drop_table("alert_notices")
    op.drop_table("maintenance_guides")
    op.drop_index("uq_work_orders_open_alert", table_name="work_orders")
    with op.batch_alter_table("work_orders", schema=None) as b:
        b.drop_column("spare_parts")
        b.drop_column("checks")
        b.drop_column("evidence")
    with op.batch_alter_table("alerts", schema=None) as b:
        b.drop_constraint("fk_alerts_rule_id_condition_rules", type_="foreignkey")
        b.drop_column("recipients")
        b.drop_column("model")
        b.drop_column("rule_id")
        b.drop_column("resolved_ns")
        b.drop_column("reopened")
        b.drop_column("last_occurrence_ns")
        b.drop_column("occurrences")
    with op.batch_alter_table("condition_rules", schema=None) as b:
        b.drop_column("no_fault_found")
        b.drop_column("model")
        b.drop_column("metrics")
        b.drop_column("engine")
    with op.batch_alter_table("assets", schema=None) as b:
        b.drop_column("recipients")
