"""Engine, transactions and migrations for SQLite and PostgreSQL.

SQLite runs in WAL mode with foreign keys on; a writing transaction starts with
``BEGIN IMMEDIATE`` so concurrent writers queue on the lock (``busy_timeout``) instead of
failing when they upgrade from reading to writing. PostgreSQL runs on psycopg 3; writers
serialise on the rows they lock (``SELECT … FOR UPDATE`` in a fixed order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

__all__ = ["conflict_insert", "make_engine", "migrate", "session", "write_conn"]

MIGRATIONS = Path(__file__).with_name("migrations")
WRITE = "bohsense_write"


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite:/// or postgresql://")
    return create_engine(url, pool_pre_ping=True)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_begin)
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


@contextmanager
def write_conn(engine: Engine) -> Iterator[Connection]:
    """A connection in a writing transaction, committed when the block ends without error."""
    with engine.connect() as conn, _writing(conn):
        yield conn


@contextmanager
def _writing(conn: Connection) -> Iterator[None]:
    """``conn`` in a writing transaction with its domain events, committed at the end."""
    from . import _domain_events as events  # imports the models, which import nothing of ours

    conn.execution_options(**{WRITE: True})
    events.start_buffer(conn)
    try:
        with conn.begin():
            yield
            events.flush(conn)  # last, just before the commit: ids in commit order
    finally:
        events.stop_buffer(conn)


@contextmanager
def session(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """An ORM session in one transaction (committed at the end of the block)."""
    from . import _domain_events as events

    with Session(engine, expire_on_commit=False) as s, s.begin():
        conn = s.connection(execution_options={WRITE: write})
        events.start_buffer(conn)
        try:
            yield s
            s.flush()
            events.flush(conn)  # last, just before the commit: ids in commit order
        finally:
            events.stop_buffer(conn)


DialectInsert = postgresql.Insert | sqlite.Insert


def conflict_insert(conn: Connection | Session, table: Table | type[Any]) -> DialectInsert:
    """An INSERT of the connection's dialect, which offers ``on_conflict_do_nothing/update``."""
    dialect = conn.dialect if isinstance(conn, Connection) else conn.get_bind().dialect
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


#: the PostgreSQL advisory lock that serialises migrations (any fixed 64-bit key)
MIGRATION_LOCK = 0x626F6873656E7365  # "bohsense"


def migrate(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations in the package up to ``revision`` on ``engine``.

    Several workers starting together do not race: on PostgreSQL the migration holds a
    transaction-level advisory lock, so the others wait, then find the schema current
    and do nothing; on SQLite the writing transaction serialises them the same way."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    run_migration(engine, lambda conn: _upgrade(cfg, conn, revision))


def _upgrade(cfg: Config, conn: Connection, revision: str) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def run_migration(engine: Engine, step: Callable[[Connection], None]) -> None:
    """Run ``step`` (Alembic commands on the connection it is given) in one writing
    transaction. On SQLite with foreign keys off, as SQLite asks for table rebuilds:
    Alembic's batch mode copies a table, drops it and renames the copy, and dropping a
    table other rows refer to fails with the keys on (the pragma is a no-op inside a
    transaction, so it is set on this connection before its transaction begins). The
    whole database is checked after (``PRAGMA foreign_key_check``): a migration that
    leaves a key pointing nowhere fails and is rolled back."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.driver_connection if sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with _writing(conn):
                step(conn)
                if sqlite:
                    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if bad:
                        raise RuntimeError(f"the migration left foreign keys pointing nowhere: {bad[:5]}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
