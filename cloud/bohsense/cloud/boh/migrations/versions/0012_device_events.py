"""Device events of applied batches (picks, putbacks, local alarms), one row per event.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("attrs", sa.JSON(), nullable=False),
        sa.Column("received_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_device_events"),
        sa.UniqueConstraint("gateway", "seq", "idx", name="uq_device_events_gateway"),
    )
    op.create_index("ix_device_events_ts", "device_events", ["ts_ns"])
    op.create_index("ix_device_events_device", "device_events", ["gateway", "device", "ts_ns"])
    op.create_index("ix_device_events_kind", "device_events", ["kind", "ts_ns"])


def downgrade() -> None:
    op.drop_index("ix_device_events_kind", table_name="device_events")
    op.drop_index("ix_device_events_device", table_name="device_events")
    op.drop_index("ix_device_events_ts", table_name="device_events")
    op.drop_table("device_events")
