"""Stock truth: where a stock location is (aisle, shelf) and the RFID zone that covers it,
lane sensing state, the sensed stock per location with its source and its changes, book
stock with its ledger and the senders' transactions, and out-of-stock periods.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LOCATION_FK = "stock_locations.id"


def _location_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["location_id"], [_LOCATION_FK], name=f"fk_{table}_location_id_stock_locations"
    )


def upgrade() -> None:
    with op.batch_alter_table("stock_locations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("aisle", sa.String(length=64), server_default="", nullable=False))
        batch_op.add_column(sa.Column("shelf", sa.String(length=64), server_default="", nullable=False))
        batch_op.add_column(sa.Column("zone", sa.String(length=128), server_default="", nullable=False))
    op.create_table(
        "lane_sensing",
        sa.Column("lane_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("state_ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("confidence_ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("updated_ns", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["lane_id"], ["lanes.id"], name="fk_lane_sensing_lane_id_lanes"),
        sa.PrimaryKeyConstraint("lane_id", name="pk_lane_sensing"),
    )
    op.create_table(
        "sensed_stock",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=128), nullable=False),
        sa.Column("units", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("weight_units", sa.Float(), nullable=True),
        sa.Column("weight_trusted", sa.Boolean(), nullable=False),
        sa.Column("rfid_units", sa.BigInteger(), nullable=True),
        sa.Column("disagreement", sa.Boolean(), nullable=False),
        sa.Column("as_of_ns", sa.BigInteger(), nullable=False),
        sa.Column("updated_ns", sa.BigInteger(), nullable=False),
        sa.Column("last_trusted_units", sa.Float(), nullable=True),
        sa.Column("last_trusted_ns", sa.BigInteger(), nullable=True),
        sa.Column("empty_since_ns", sa.BigInteger(), nullable=True),
        _location_fk("sensed_stock"),
        sa.PrimaryKeyConstraint("location_id", name="pk_sensed_stock"),
    )
    op.create_table(
        "sensed_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("units_before", sa.Float(), nullable=True),
        sa.Column("units_after", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        _location_fk("sensed_changes"),
        sa.PrimaryKeyConstraint("id", name="pk_sensed_changes"),
    )
    op.create_index("ix_sensed_changes_location", "sensed_changes", ["location_id", "ts_ns"])
    op.create_table(
        "book_stock",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=128), nullable=False),
        sa.Column("units", sa.Float(), nullable=False),
        sa.Column("last_sale_ns", sa.BigInteger(), nullable=True),
        sa.Column("updated_ns", sa.BigInteger(), nullable=False),
        _location_fk("book_stock"),
        sa.PrimaryKeyConstraint("location_id", name="pk_book_stock"),
    )
    op.create_table(
        "pos_transactions",
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("txn_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("lines", sa.BigInteger(), nullable=False),
        sa.Column("occurred_ns", sa.BigInteger(), nullable=False),
        sa.Column("received_ns", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("sender", "txn_id", name="pk_pos_transactions"),
    )
    op.create_table(
        "inventory_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("balance_after", sa.Float(), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("txn_id", sa.String(length=128), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("occurred_ns", sa.BigInteger(), nullable=False),
        sa.Column("received_ns", sa.BigInteger(), nullable=False),
        _location_fk("inventory_ledger"),
        sa.PrimaryKeyConstraint("id", name="pk_inventory_ledger"),
    )
    op.create_index("ix_inventory_ledger_location", "inventory_ledger", ["location_id", "occurred_ns"])
    op.create_index("ix_inventory_ledger_sku", "inventory_ledger", ["site", "sku", "kind", "occurred_ns"])
    op.create_table(
        "stock_outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=128), nullable=False),
        sa.Column("started_ns", sa.BigInteger(), nullable=False),
        sa.Column("ended_ns", sa.BigInteger(), nullable=True),
        sa.Column("rate_per_h", sa.Float(), nullable=False),
        sa.Column("rate_source", sa.String(length=16), nullable=False),
        _location_fk("stock_outages"),
        sa.PrimaryKeyConstraint("id", name="pk_stock_outages"),
    )
    op.create_index("ix_stock_outages_location", "stock_outages", ["location_id", "started_ns"])
    op.create_index("ix_stock_outages_site", "stock_outages", ["site", "started_ns"])


def downgrade() -> None:
    op.drop_index("ix_stock_outages_site", table_name="stock_outages")
    op.drop_index("ix_stock_outages_location", table_name="stock_outages")
    op.drop_table("stock_outages")
    op.drop_index("ix_inventory_ledger_sku", table_name="inventory_ledger")
    op.drop_index("ix_inventory_ledger_location", table_name="inventory_ledger")
    op.drop_table("inventory_ledger")
    op.drop_table("pos_transactions")
    op.drop_table("book_stock")
    op.drop_index("ix_sensed_changes_location", table_name="sensed_changes")
    op.drop_table("sensed_changes")
    op.drop_table("sensed_stock")
    op.drop_table("lane_sensing")
    # ALTER TABLE … DROP COLUMN, not a batch (see 0013: the foreign keys refuse a rebuild)
    op.drop_column("stock_locations", "zone")
    op.drop_column("stock_locations", "shelf")
    op.drop_column("stock_locations", "aisle")
