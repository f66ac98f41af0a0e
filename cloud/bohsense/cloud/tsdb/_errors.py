"""Errors of the time-series store.

::

    StorageError                 base: a write or query did not happen
    ├── StorageUnavailable       retryable: connection refused, timeout, server 5xx
    └── StorageRejected          not retryable: the server refused the data (4xx), with its reason

Ingest retries ``StorageUnavailable`` with backoff (and stops taking messages meanwhile);
``StorageRejected`` means the data itself is wrong and must be quarantined.
"""

from __future__ import annotations

from bohsense.cloud.errors import CloudError

__all__ = ["StorageError", "StorageRejected", "StorageUnavailable"]


class StorageError(CloudError):
    """A time-series write or query failed."""


class StorageUnavailable(StorageError):
    """The store cannot be reached or failed on its side; the same call may succeed later."""


class StorageRejected(StorageError):
    """The store refused the request because of what it contains; retrying will not help."""

    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(detail if status is None else f"HTTP {status}: {detail}")
        self.detail = detail
        self.status = status
