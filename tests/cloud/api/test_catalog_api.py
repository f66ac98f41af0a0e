"""The catalog over HTTP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.boh import BohCore
from bohsense.contracts.schema import Reading

from ..boh.factory import GW, LANE_A, LANE_B, T0, VIB, batch, units

V1 = "/api/v1"
pytestmark = pytest.mark.parametrize("core", ["sqlite", "postgresql"], indirect=True)


def test_the_mapping_lists_unmatched_lanes_and_unmapped_devices(client: TestClient, core: BohCore) -> None:
    core.apply_batches([batch(1, [units(LANE_A, 1, 5), Reading("shelf-01/lane-2", "units", T0, 3.0)])])
    body = client.get(f"{V1}/catalog/mapping").json()
    assert sorted((d["device"], d["kind"]) for d in body["unmatched"]) == [(LANE_B, "lane"), (VIB, "asset")]
    assert [(d["gateway"], d["device"], d["kind"]) for d in body["unmapped"]] == [
        (GW, "shelf-01/lane-2", "unknown")
    ]
    assert client.get(f"{V1}/catalog/mapping", params={"gateway": "nope"}).json() == {
        "unmatched": [],
        "unmapped": [],
    }
    s = client.get(f"{V1}/summary").json()
    assert (s["devices_unmatched"], s["devices_unmapped"]) == (2, 1)
