"""Database faults injected at the driver seam: the statement fails as the server would fail it."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy import event

from bohsense.cloud.boh import BohCore


class FailStatements:
    """Make the next ``times`` statements that start with ``prefix`` raise ``error``."""

    def __init__(self, core: BohCore, prefix: str, error: type[sa.exc.DBAPIError], times: int = 1) -> None:
        self.engine = core._engine
        self.prefix = prefix.upper()
        self.error = error
        self.times = times
        self.hits = 0
        event.listen(self.engine, "before_cursor_execute", self._hook)

    def _hook(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_a: Any) -> None:
        if self.times and statement.lstrip().upper().startswith(self.prefix):
            self.times -= 1
            self.hits += 1
            raise self.error(statement, params, Exception(f"injected fault on {self.prefix}"))

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hook)


@contextlib.contextmanager
def limited_role(admin_url: str) -> Iterator[tuple[str, str]]:
    """A PostgreSQL login role without superuser rights on the database of ``admin_url``.

    Yields ``(url as that role, role name)``; the role owns nothing, so privileges can be
    revoked from it (a superuser bypasses them).
    """
    url = sa.engine.make_url(admin_url)
    role = f"bohsense_limited_{uuid.uuid4().hex[:8]}"
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        conn.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    try:
        yield url.set(username=role).render_as_string(hide_password=False), role
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"REASSIGN OWNED BY {role} TO CURRENT_USER")
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def admin_execute(admin_url: str, sql: str) -> None:
    plain = sa.engine.make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(sql)
