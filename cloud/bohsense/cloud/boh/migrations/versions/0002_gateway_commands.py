"""Gateway commands: what was sent to which gateway, and the result it reported.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_commands",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("command", sa.String(length=128), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=1024), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_ns", sa.BigInteger(), nullable=False),
        sa.Column("updated_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_commands")),
    )
    with op.batch_alter_table("gateway_commands", schema=None) as batch_op:
        batch_op.create_index("ix_gateway_commands_gateway", ["gateway", "created_ns"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gateway_commands", schema=None) as batch_op:
        batch_op.drop_index("ix_gateway_commands_gateway")
    op.drop_table("gateway_commands")
