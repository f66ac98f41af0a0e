from __future__ import annotations

import pytest
import sqlalchemy as sa

from bohsense.cloud.boh import ALERT, PROPOSAL, BohCore
from bohsense.cloud.boh._models import OPEN_ALERT_WHERE, OPEN_PROPOSAL_WHERE, Base

TABLES = {
    "sites", "gateways", "devices", "assets", "condition_rules", "skus", "stock_locations", "lanes",
    "stock_levels", "alerts", "work_orders", "replenishment_proposals", "audit_log", "ingest_seq", "quarantine",
    "gateway_commands", "rule_state", "device_events", "site_zones", "rfid_items", "rfid_item_events",
    "rfid_zone_snapshots", "lane_sensing", "sensed_stock", "sensed_changes", "book_stock", "pos_transactions",
    "inventory_ledger", "stock_outages", "replenishment_plans", "proposal_receipts", "webhook_deliveries",
    "webhook_attempts", "maintenance_guides", "alert_notices", "fault_labels", "users", "api_keys",
    "refresh_tokens",
}  # fmt: skip


def _head() -> str:
    """The one head of the migration chain (a second head would be a merge mistake)."""
    from pathlib import Path

    from alembic.script import ScriptDirectory

    import bohsense.cloud.boh.migrations as migrations

    heads = ScriptDirectory(str(Path(migrations.__file__).parent)).get_heads()
    assert len(heads) == 1, f"the migrations have {len(heads)} heads: {heads}"
    return heads[0]


def test_the_migration_chain_is_linear_and_numbered() -> None:
    from pathlib import Path

    from alembic.script import ScriptDirectory

    import bohsense.cloud.boh.migrations as migrations

    scripts = ScriptDirectory(str(Path(migrations.__file__).parent))
    chain = [s.revision for s in scripts.walk_revisions()][::-1]
    assert chain == [f"{i:04d}" for i in range(1, len(chain) + 1)]
    assert chain[-1] == _head()


def test_migrations_create_every_table_from_empty_and_are_idempotent(db_url: str) -> None:
    core = BohCore(db_url)
    assert core.ping()
    core.migrate()
    core.migrate()  # a second run is a no-op
    engine = sa.create_engine(db_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
        assert names >= TABLES
        assert set(Base.metadata.tables) == TABLES
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == _head()
        indexes = {i["name"]: i for i in sa.inspect(engine).get_indexes("alerts")}
        assert indexes["uq_alerts_open_asset_condition"]["unique"]
        assert indexes["uq_alerts_open_subject_condition"]["unique"]
    finally:
        engine.dispose()
        core.close()


def test_the_migrations_build_exactly_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    core = BohCore(db_url)
    core.migrate()
    try:
        with core._engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        core.close()


def test_the_partial_unique_indexes_cover_exactly_the_open_states() -> None:
    for lifecycle, where in ((ALERT, OPEN_ALERT_WHERE), (PROPOSAL, OPEN_PROPOSAL_WHERE)):
        listed = {part.strip(" '") for part in where.split("IN", 1)[1].strip(" ()").split(",")}
        assert listed == set(lifecycle.open)


def test_an_unsupported_database_url_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        BohCore("mysql://localhost/x")


def test_the_initial_migration_downgrades_to_empty_and_upgrades_again(db_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from bohsense.cloud.boh._db import MIGRATIONS, write_conn

    core = BohCore(db_url)
    core.migrate()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with write_conn(core._engine) as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(sa.inspect(core._engine).get_table_names()) <= {"alembic_version"}
    core.migrate()
    assert set(sa.inspect(core._engine).get_table_names()) >= TABLES
    core.close()
