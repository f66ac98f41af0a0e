"""Item-level inventory from RFID: SKU GTINs, site zones with their kinds, item state,
item history and the newest zone snapshot per zone.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gtin", sa.String(length=14), server_default="", nullable=False))
    op.create_table(
        "site_zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("zone", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("retired_ns", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["site"], ["sites.id"], name="fk_site_zones_site_sites"),
        sa.PrimaryKeyConstraint("id", name="pk_site_zones"),
        sa.UniqueConstraint("site", "zone", name="uq_site_zones_site"),
    )
    op.create_table(
        "rfid_items",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("epc", sa.String(length=124), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("serial", sa.String(length=20), nullable=False),
        sa.Column("zone", sa.String(length=128), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("transition", sa.String(length=16), nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("reader", sa.String(length=128), nullable=False),
        sa.Column("antenna", sa.Integer(), nullable=False),
        sa.Column("rssi_dbm", sa.Float(), nullable=False),
        sa.Column("first_seen_ns", sa.BigInteger(), nullable=False),
        sa.Column("updated_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site", "epc", name="pk_rfid_items"),
    )
    op.create_index("ix_rfid_items_zone", "rfid_items", ["site", "zone", "present"])
    op.create_table(
        "rfid_item_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("epc", sa.String(length=124), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=128), nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("transition", sa.String(length=16), nullable=False),
        sa.Column("zone", sa.String(length=128), nullable=False),
        sa.Column("from_zone", sa.String(length=128), nullable=False),
        sa.Column("zone_kind", sa.String(length=16), nullable=False),
        sa.Column("reader", sa.String(length=128), nullable=False),
        sa.Column("antenna", sa.Integer(), nullable=False),
        sa.Column("rssi_dbm", sa.Float(), nullable=False),
        sa.Column("reads", sa.BigInteger(), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("serial", sa.String(length=20), nullable=False),
        sa.Column("backfilled", sa.Boolean(), nullable=False),
        sa.Column("received_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rfid_item_events"),
        sa.UniqueConstraint("gateway", "seq", "idx", name="uq_rfid_item_events_gateway"),
    )
    op.create_index("ix_rfid_item_events_item", "rfid_item_events", ["site", "epc", "ts_ns"])
    op.create_index(
        "ix_rfid_item_events_departures", "rfid_item_events", ["transition", "zone_kind", "ts_ns"]
    )
    op.create_table(
        "rfid_zone_snapshots",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("zone", sa.String(length=128), nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("other", sa.BigInteger(), nullable=False),
        sa.Column("received_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site", "zone", name="pk_rfid_zone_snapshots"),
    )


def downgrade() -> None:
    op.drop_table("rfid_zone_snapshots")
    op.drop_index("ix_rfid_item_events_departures", table_name="rfid_item_events")
    op.drop_index("ix_rfid_item_events_item", table_name="rfid_item_events")
    op.drop_table("rfid_item_events")
    op.drop_index("ix_rfid_items_zone", table_name="rfid_items")
    op.drop_table("rfid_items")
    op.drop_table("site_zones")
    # not a batch: on SQLite that recreates skus, which the stock locations' foreign keys
    # refuse once they hold rows; ALTER TABLE … DROP COLUMN (SQLite 3.35+) keeps the table
    op.drop_column("skus", "gtin")
