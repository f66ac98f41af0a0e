"""Which database errors mean "the database cannot take this now" rather than "this data is wrong".

Ingest retries the first kind for as long as it lasts and isolates (quarantines) only the
second, so a database outage, a lock or a revoked privilege never costs a batch:

- unavailable: connection and pool errors, SQLite's ``OperationalError`` (locked, read-only,
  disk full, I/O), and on PostgreSQL every error whose SQLSTATE is of class 08 (connection),
  40 (serialisation, deadlock), 53 (resources), 55 (lock not available), 57 (operator
  intervention, shutdown), 58 (system) or ``42501`` (insufficient privilege);
- anything else (``DataError``, ``IntegrityError``, an error of a rule's code) may be caused
  by the call's data and is raised as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from ..ports import CoreUnavailable

__all__ = ["is_unavailable", "unavailable_as_core_unavailable"]

_RETRY_CLASSES = frozenset({"08", "40", "53", "55", "57", "58"})
_RETRY_STATES = frozenset({"42501"})


def _sqlstate(exc: sa_exc.DBAPIError) -> str | None:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code if isinstance(code, str) else None


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DisconnectionError | sa_exc.TimeoutError | sa_exc.ResourceClosedError):
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = _sqlstate(exc)
    if code is not None:
        return code in _RETRY_STATES or code[:2] in _RETRY_CLASSES
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)


@contextmanager
def unavailable_as_core_unavailable() -> Iterator[None]:
    """Raise ``CoreUnavailable`` (chained) for an error that ``is_unavailable``."""
    try:
        yield
    except Exception as exc:
        if is_unavailable(exc):
            raise CoreUnavailable(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from exc
        raise
