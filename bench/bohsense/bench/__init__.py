"""bohsense benchmarks: ``bohsense bench ingest`` and ``bohsense bench codec``.

Each starts what it needs (Mosquitto, InfluxDB 1.x on free ports) and prints its
figures as one JSON object on the last line of stdout; docs/benchmarks.md records them.
"""

__all__: list[str] = []
