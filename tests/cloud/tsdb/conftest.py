"""VictoriaMetrics for the influxdb-client write path (it accepts /api/v2/write).

Debian's InfluxDB 1.6.7 has no /api/v2/write; VictoriaMetrics (Debian package
``victoria-metrics``) does, and reads the points back through /api/v1/export.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.services import VictoriaMetrics


@pytest.fixture(scope="session")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    server = VictoriaMetrics(tmp_path_factory.mktemp("victoria")).start()
    yield server
    server.stop()
