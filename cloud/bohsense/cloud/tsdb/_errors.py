"""Errors of the time-series store.

::

    StorageError                 base: a write or query did not happen
    ├── StorageUnavailable       retryable: connection refused, timeout, server 5xx
    │   └── StorageRefused       the server refused *us* (401/403, no such database):
    │                            retried like an outage, never blamed on the data
    └── StorageRejected          not retryable: the server refused the data (4xx), with its reason

Ingest retries ``StorageUnavailable`` with backoff (and stops taking messages meanwhile);
``StorageRejected`` means the data itself is wrong and must be quarantined. A wrong
password or a dropped database is the operator's to fix: the data waits (the service
refuses to start with it; while running it logs the reason at every retry).
"""

from __future__ import annotations

from bohsense.cloud.errors import CloudError

__all__ = ["StorageError", "StorageRefused", "StorageRejected", "StorageUnavailable"]


class StorageError(CloudError):
    """A time-series write or query failed."""


class StorageUnavailable(StorageError):
    """The store cannot be reached or failed on its side; the same call may succeed later."""


class StorageRefused(StorageUnavailable):
    """The store refused the service's credentials or has no such database (HTTP 401, 403,
    or 404 on a write): not the data's fault, so nothing is quarantined for it."""


#: HTTP statuses that refuse the caller, not the request's content
REFUSING_STATUSES = frozenset({401, 403})


class StorageRejected(StorageError):
    """The store refused the request because of what it contains; retrying will not help."""

    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(detail if status is None else f"HTTP {status}: {detail}")
        self.detail = detail
        self.status = status
