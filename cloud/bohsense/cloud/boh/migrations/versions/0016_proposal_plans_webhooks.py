"""Replenishment: proposal flags, approval, receipts and revisions; planner inputs per
location; the webhook outbox with its delivery attempts.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("replenishment_proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flags", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("approval", sa.String(length=16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("received_units", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "replenishment_plans",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("abc", sa.String(length=1), nullable=False),
        sa.Column("xyz", sa.String(length=1), nullable=False),
        sa.Column("service_level", sa.Float(), nullable=False),
        sa.Column("lead_time_days", sa.BigInteger(), nullable=False),
        sa.Column("daily_mean", sa.Float(), nullable=False),
        sa.Column("lead_time_mean", sa.Float(), nullable=False),
        sa.Column("lead_time_var", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("unit_cost", sa.Float(), nullable=True),
        sa.Column("ordering_cost", sa.Float(), nullable=True),
        sa.Column("holding_rate", sa.Float(), nullable=True),
        sa.Column("min_order", sa.BigInteger(), nullable=False),
        sa.Column("shelf_capacity", sa.Float(), nullable=True),
        sa.Column("as_of_ns", sa.BigInteger(), nullable=False),
        sa.Column("updated_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["stock_locations.id"], name="fk_replenishment_plans_location_id_stock_locations"
        ),
        sa.PrimaryKeyConstraint("location_id", name="pk_replenishment_plans"),
    )
    op.create_table(
        "proposal_receipts",
        sa.Column("receipt_id", sa.String(length=128), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("received_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["replenishment_proposals.id"],
            name="fk_proposal_receipts_proposal_id_replenishment_proposals",
        ),
        sa.PrimaryKeyConstraint("receipt_id", name="pk_proposal_receipts"),
    )
    op.create_index("ix_proposal_receipts_proposal_id", "proposal_receipts", ["proposal_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("group_key", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("budget_from", sa.BigInteger(), nullable=False),
        sa.Column("next_attempt_ns", sa.BigInteger(), nullable=False),
        sa.Column("lease_until_ns", sa.BigInteger(), nullable=False),
        sa.Column("created_ns", sa.BigInteger(), nullable=False),
        sa.Column("delivered_ns", sa.BigInteger(), nullable=True),
        sa.Column("last_status", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint("idempotency_key", name="uq_webhook_deliveries_idempotency_key"),
    )
    op.create_index("ix_webhook_deliveries_group", "webhook_deliveries", ["group_key", "state"])
    op.create_index("ix_webhook_deliveries_state", "webhook_deliveries", ["state"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.BigInteger(), nullable=False),
        sa.Column("at_ns", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("status", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name="fk_webhook_attempts_delivery_id_webhook_deliveries",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_attempts_delivery_id", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_state", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_group", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_proposal_receipts_proposal_id", table_name="proposal_receipts")
    op.drop_table("proposal_receipts")
    op.drop_table("replenishment_plans")
    with op.batch_alter_table("replenishment_proposals", schema=None) as batch_op:
        batch_op.drop_column("revision")
        batch_op.drop_column("received_units")
        batch_op.drop_column("approval")
        batch_op.drop_column("flags")
