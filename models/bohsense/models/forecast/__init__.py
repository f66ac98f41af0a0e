"""Daily demand forecasts per item × store, with their spread.

``parse_history`` / ``read_history`` validate a long-format history into ``Series``;
``forecast_series`` chooses a method per series (Syntetos–Boylan class table, or
validation on the series' own recent past) and returns a ``Forecast`` whose daily
demand is a count distribution (``CountDistribution``) around the point forecast;
``wrmsse`` is the M5 metric at the item × store level. See docs/forecasting.md.
"""

from __future__ import annotations

from ._distribution import CountDistribution
from ._errors import ForecastError, HistoryError
from ._evaluate import backtest, store_holdout
from ._global import GlobalBoosting
from ._history import Series, parse_history
from ._io import read_history, read_known_items
from ._methods import METHODS, Method, make
from ._metrics import naive_scale, rmsse, wrmsse
from ._select import CANDIDATES, GLOBAL, SB_TABLE, Forecast, forecast_series, predict_from, sb_class

__all__ = [
    "CANDIDATES",
    "GLOBAL",
    "METHODS",
    "SB_TABLE",
    "CountDistribution",
    "Forecast",
    "ForecastError",
    "GlobalBoosting",
    "HistoryError",
    "Method",
    "Series",
    "backtest",
    "forecast_series",
    "make",
    "naive_scale",
    "parse_history",
    "predict_from",
    "read_history",
    "read_known_items",
    "rmsse",
    "sb_class",
    "store_holdout",
    "wrmsse",
]
