"""The one-machine demo: embedded broker, cloud, a simulated store and its gateway.

``DemoStore`` (the store's catalog, gateway configuration and script) is public so that
the system tests drive the same store as the demo.
"""

from bohsense.demo._store import ASSET, LANES, SENSOR, SHELF, DemoStore, gateway_toml

__all__ = ["ASSET", "LANES", "SENSOR", "SHELF", "DemoStore", "gateway_toml"]
