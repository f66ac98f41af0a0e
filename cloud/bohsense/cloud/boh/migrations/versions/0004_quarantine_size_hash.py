"""Quarantine: every item's full size and SHA-256 (large payloads are kept as a prefix).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload_size", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("payload_sha256", sa.String(length=64), nullable=False, server_default="")
        )
    op.execute("UPDATE quarantine SET payload_size = length(payload)")


def downgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_column("payload_sha256")
        batch_op.drop_column("payload_size")
