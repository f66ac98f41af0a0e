"""The HTTP API (FastAPI): thin routers over the BOH core and the time-series query seam."""

from ._app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
