"""Domain events, opaque rule state and alert escalation.

- ``audit_log.kind``: every row is a typed domain event (``alert.opened``, …); the rows
  written before get the kind their states say.
- ``rule_state``: a rule's running state per subject, as its engine's JSON; the threshold
  rule's state moves there from the columns of ``condition_rules`` (its ``phase`` stays).
- ``alerts.escalation_level`` and ``alerts.escalate_at_ns``.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATE_COLUMNS = ("over_since_ns", "max_value", "below_since_ns", "last_ts_ns")

_KIND = """
CASE
  WHEN entity LIKE 'catalog.%' THEN entity || '.' || CASE
    WHEN from_state IS NULL THEN 'created'
    WHEN to_state = 'retired' THEN 'retired'
    WHEN from_state = 'retired' THEN 'restored'
    ELSE 'updated' END
  WHEN entity = 'alert' AND from_state IS NULL THEN 'alert.opened'
  WHEN entity = 'alert' AND from_state = to_state THEN 'alert.' || CASE
    WHEN detail LIKE '%"cleared"%' THEN 'cleared' ELSE 'reactivated' END
  WHEN entity = 'work_order' AND from_state IS NULL THEN 'work_order.created'
  WHEN entity = 'work_order' AND from_state = to_state THEN 'work_order.updated'
  WHEN entity = 'replenishment_proposal' AND from_state IS NULL THEN 'replenishment_proposal.created'
  WHEN entity = 'replenishment_proposal' AND from_state = to_state THEN 'replenishment_proposal.' ||
    CASE WHEN detail LIKE '%"followed"%' THEN 'revised' ELSE 'quantity_set' END
  WHEN entity = 'command' AND from_state IS NULL THEN 'command.created'
  WHEN entity = 'gateway' AND to_state = 'registered' THEN 'gateway.released'
  WHEN entity = 'gateway' AND from_state = to_state THEN 'gateway.site_claimed'
  WHEN entity = 'gateway' THEN 'gateway.state_changed'
  WHEN entity = 'quarantine' THEN 'quarantine.reapplied'
  ELSE entity || '.' || to_state
END
"""


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=64), server_default="", nullable=False))
    detail = "CAST(detail AS TEXT)"
    op.execute(sa.text(f"UPDATE audit_log SET kind = {_KIND.replace('detail LIKE', detail + ' LIKE')}"))

    rule_state = op.create_table(
        "rule_state",
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.Column("seen_until_ns", sa.BigInteger(), nullable=True),
        sa.Column("updated_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "subject", name=op.f("pk_rule_state")),
    )
    conn = op.get_bind()
    rules = conn.execute(
        sa.text(
            "SELECT id, asset_id, condition, phase, over_since_ns, max_value, below_since_ns, last_ts_ns "
            "FROM condition_rules"
        )
    ).all()
    rows = [
        {
            "rule_id": f"condition:{r.id}",
            "subject": f"{r.asset_id}/{r.condition}",
            "state": {
                "phase": r.phase,
                "over_since_ns": r.over_since_ns,
                "max_value": r.max_value,
                "below_since_ns": r.below_since_ns,
                "last_ts_ns": r.last_ts_ns,
            },
            "seen_until_ns": r.last_ts_ns,
            "updated_ns": 0,
        }
        for r in rules
        if r.last_ts_ns is not None or r.phase != "normal"
    ]
    if rows:
        op.bulk_insert(rule_state, rows)
    with op.batch_alter_table("condition_rules", schema=None) as batch_op:
        for name in _STATE_COLUMNS:
            batch_op.drop_column(name)

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("escalation_level", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("escalate_at_ns", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # plain ALTER TABLE … DROP COLUMN (SQLite >= 3.35): a batch copy of ``alerts`` would drop
    # the table work orders refer to, which SQLite's foreign keys refuse
    op.drop_column("alerts", "escalate_at_ns")
    op.drop_column("alerts", "escalation_level")
    with op.batch_alter_table("condition_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("over_since_ns", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("max_value", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("below_since_ns", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("last_ts_ns", sa.BigInteger(), nullable=True))
    conn = op.get_bind()
    states = sa.table("rule_state", sa.column("rule_id", sa.String()), sa.column("state", sa.JSON()))
    for rule_id, state in conn.execute(sa.select(states.c.rule_id, states.c.state)).all():
        if not rule_id.startswith("condition:") or not state:
            continue
        values = {k: state.get(k) for k in _STATE_COLUMNS}
        conn.execute(
            sa.text(
                "UPDATE condition_rules SET over_since_ns = :over_since_ns, max_value = :max_value, "
                "below_since_ns = :below_since_ns, last_ts_ns = :last_ts_ns WHERE id = :id"
            ),
            {**values, "id": int(rule_id.split(":", 1)[1])},
        )
    op.drop_table("rule_state")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("kind")
