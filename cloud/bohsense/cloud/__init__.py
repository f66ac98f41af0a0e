"""bohsense cloud: ingest, time-series storage, BOH core and HTTP API.

Sub-packages: ``ingest`` (MQTT → store → BOH core), ``tsdb`` (time-series backends),
``boh`` (SQL state and rules), ``api`` (FastAPI); ``ports`` is the seam between ingest
and the BOH core. ``CloudSettings`` → ``CloudService(settings).run()`` is the composition
root (``bohsense cloud run``). Nothing is built at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bohsense.cloud.service import CloudService
    from bohsense.cloud.settings import CloudSettings

__all__ = ["CloudService", "CloudSettings"]


def __getattr__(name: str) -> Any:  # lazy: importing a sub-package must not pull in the service
    if name == "CloudService":
        from bohsense.cloud.service import CloudService

        return CloudService
    if name == "CloudSettings":
        from bohsense.cloud.settings import CloudSettings

        return CloudSettings
    raise AttributeError(name)
