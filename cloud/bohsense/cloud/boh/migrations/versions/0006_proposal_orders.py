"""Replenishment: an ordered proposal stays open until received or cancelled; planner quantity; priority.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_replenishment_open_sku_location"
OLD = "state IN ('proposed', 'approved')"
NEW = "state IN ('proposed', 'approved', 'ordered')"


def _index(batch_op: object, where: str) -> None:
    batch_op.create_index(  # type: ignore[attr-defined]
        INDEX,
        ["site", "sku", "location"],
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    with op.batch_alter_table("replenishment_proposals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("quantity_source", sa.String(length=16), nullable=False, server_default="rule")
        )
        batch_op.add_column(
            sa.Column("priority", sa.String(length=16), nullable=False, server_default="normal")
        )
        batch_op.drop_index(INDEX)
    with op.batch_alter_table("replenishment_proposals", schema=None) as batch_op:
        _index(batch_op, NEW)


def downgrade() -> None:
    with op.batch_alter_table("replenishment_proposals", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
    # received / cancelled have no place in the old lifecycle: they become "ordered" / "rejected"
    op.execute("UPDATE replenishment_proposals SET state = 'rejected' WHERE state = 'cancelled'")
    op.execute("UPDATE replenishment_proposals SET state = 'ordered' WHERE state = 'received'")
    with op.batch_alter_table("replenishment_proposals", schema=None) as batch_op:
        batch_op.drop_column("priority")
        batch_op.drop_column("quantity_source")
        _index(batch_op, OLD)
