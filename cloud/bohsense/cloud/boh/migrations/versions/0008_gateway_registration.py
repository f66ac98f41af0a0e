"""Gateway registration: catalog / auto / pending, and the site a gateway claims.

Gateways already in the table are taken as registered (``catalog``): before this
revision every gateway that reported was accepted.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("registration", sa.String(length=16), nullable=False, server_default="catalog")
        )
        batch_op.add_column(
            sa.Column("claimed_site", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.drop_column("claimed_site")
        batch_op.drop_column("registration")
