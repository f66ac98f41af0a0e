"""The exception root of ``bohsense-cloud``.

Every error the cloud raises on purpose is a ``CloudError``: a BOH core refusal
(``boh.BohError``), a time-series store failure (``tsdb.StorageError``), the core being
unavailable (``ports.CoreUnavailable``), an MQTT link failure (``ingest.LinkError``), an
event handler's failure (``boh.HandlerFailed``). Reasons a caller sorts by are string
enums (``bohsense.contracts.errors.Reason`` for what the wire refused).
"""

from __future__ import annotations

__all__ = ["CloudError"]


class CloudError(Exception):
    """Root of every error raised by ``bohsense.cloud``."""
