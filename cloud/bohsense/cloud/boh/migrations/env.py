"""Alembic environment: runs on the connection ``BohCore.migrate`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bohsense.cloud.boh._models import Base

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through BohCore.migrate(), which provides the connection")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
