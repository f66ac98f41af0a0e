"""Gateway status epoch (the MQTT connection a recorded status belongs to) and the
readings the gateway dropped after sending them (in doubt, not known lost).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_epoch", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("dropped_in_doubt", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.drop_column("dropped_in_doubt")
        batch_op.drop_column("status_epoch")
