"""Migration 0011 keeps what was there: the threshold rule's running state moves to
``rule_state`` (and back on downgrade), and the audit rows written before get their kinds."""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from bohsense.cloud.boh import BohCore
from bohsense.cloud.boh._db import MIGRATIONS, migrate, run_migration

from .factory import DURATION_S, LIMIT, T0, S, batch, catalog, vib


def _to(core: BohCore, revision: str, *, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))

    def step(conn: sa.Connection) -> None:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)

    run_migration(core._engine, step)


def test_rule_state_and_audit_kinds_survive_the_migration_both_ways(db_url: str) -> None:
    core = BohCore(db_url)
    core.migrate()
    core.load_catalog(catalog())
    over = [vib(t, LIMIT + 1) for t in range(0, DURATION_S + 1, 5)]
    core.apply_batches([batch(1, over)])  # a fault: the rule is in phase "fault"
    alert = core.list_alerts()[0]
    core.acknowledge_alert(alert.id, actor="tech")
    kinds_before = [(a.id, a.kind) for a in core.audit(limit=1000)]

    _to(core, "0010", down=True)
    with core._engine.connect() as conn:
        rule = conn.execute(
            sa.text("SELECT phase, over_since_ns, max_value, below_since_ns, last_ts_ns FROM condition_rules")
        ).one()
        assert tuple(rule) == ("fault", T0, LIMIT + 1, None, T0 + DURATION_S * S)
        assert "kind" not in {c["name"] for c in sa.inspect(conn).get_columns("audit_log")}

    migrate(core._engine)  # 0011 again, from the columns
    with core._engine.connect() as conn:
        rid, subject, state, seen = conn.execute(
            sa.text("SELECT rule_id, subject, state, seen_until_ns FROM rule_state")
        ).one()
    state = state if isinstance(state, dict) else json.loads(state)
    assert (subject, seen) == ("cooler-1/vibration-high", T0 + DURATION_S * S)
    assert rid.startswith("condition:")
    assert state == {
        "phase": "fault",
        "over_since_ns": T0,
        "max_value": LIMIT + 1,
        "below_since_ns": None,
        "last_ts_ns": T0 + DURATION_S * S,
    }
    # the kinds the states say, the same the core writes today
    assert [(a.id, a.kind) for a in BohCore(db_url).audit(limit=1000)] == kinds_before
    # and the rule goes on from its state: the clear needs DURATION_S below clear_below
    core.apply_batches([batch(2, [vib(40 + t, 1.0) for t in range(0, DURATION_S + 1, 5)])])
    assert core.get_alert(alert.id).cleared_ns is not None
    core.close()
