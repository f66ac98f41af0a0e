"""Alerts about a subject that is not an asset: a gateway or a device gone silent.

``alerts.subject`` names what the alert is about (``gateway:<id>``,
``device:<gateway>/<device>``; empty for asset condition alerts), ``asset_id`` may be
empty for them, and a partial unique index keeps one open alert per subject and
condition, as the asset index does per asset.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_SUBJECT_WHERE = "state IN ('open', 'acknowledged') AND subject <> ''"


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=200), nullable=False, server_default=""))
        batch_op.alter_column("asset_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_index(
            "uq_alerts_open_subject_condition",
            ["subject", "condition"],
            unique=True,
            sqlite_where=sa.text(OPEN_SUBJECT_WHERE),
            postgresql_where=sa.text(OPEN_SUBJECT_WHERE),
        )


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE asset_id IS NULL")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("uq_alerts_open_subject_condition")
        batch_op.alter_column("asset_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("subject")
