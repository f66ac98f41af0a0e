"""Work orders carry the job: priority, assignee, due date, parts, labour, resolution, notes, attachments.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LISTS = ("parts", "labour", "notes", "attachments")


def upgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.String(length=16), nullable=False, server_default="normal")
        )
        batch_op.add_column(sa.Column("assignee", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("due_ns", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("resolution_code", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("root_cause", sa.Text(), nullable=False, server_default=""))
        for name in LISTS:
            batch_op.add_column(sa.Column(name, sa.JSON(), nullable=True))
    for name in LISTS:
        op.execute(f"UPDATE work_orders SET {name} = '[]'")
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        for name in LISTS:
            batch_op.alter_column(name, existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        for name in (*LISTS, "root_cause", "resolution_code", "due_ns", "assignee", "priority"):
            batch_op.drop_column(name)
