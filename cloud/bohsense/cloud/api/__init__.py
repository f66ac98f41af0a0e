"""The HTTP API (FastAPI): thin routers over the BOH core and the time-series query seam."""

from ._app import API_PREFIX, create_app
from ._feed_hub import FeedConfig
from .routers.feeds import close_feeds, configure_feeds

__all__ = ["API_PREFIX", "FeedConfig", "close_feeds", "configure_feeds", "create_app"]
