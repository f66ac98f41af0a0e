"""The one-machine demo: embedded broker, cloud, a simulated store and its gateway."""

__all__: list[str] = []
