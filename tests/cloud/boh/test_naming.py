"""One naming scheme for lanes and devices: the example catalog names what the example gateway
reports, a lane name no driver sends is refused, and the mapping report shows catalog devices
never reported (unmatched) and reporting devices no catalog entry maps (unmapped)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bohsense.cloud.boh import BohCore, CatalogError
from bohsense.contracts.devices import parse_lane_device
from bohsense.contracts.schema import Reading

from .factory import GW, LANE_A, LANE_B, T0, VIB, batch, catalog, units

REPO = Path(__file__).parents[3]
CATALOG = REPO / "cloud/bohsense/cloud/boh/catalog.example.toml"
GATEWAY = REPO / "deploy/gateway.example.toml"


def test_the_example_catalog_names_what_the_example_gateway_reports() -> None:
    cat = tomllib.loads(CATALOG.read_text())
    gw = tomllib.loads(GATEWAY.read_text())
    serial_ids = {d["device_id"] for d in gw["devices"] if d["kind"] == "serial"}
    lanes = [lane for loc in cat["locations"] for lane in loc["lanes"]]
    assert lanes
    for lane in lanes:
        assert lane["gateway"] == gw["gateway_id"]
        parsed = parse_lane_device(lane["device"])
        assert parsed is not None, lane
        assert parsed[0] in serial_ids, lane
        # a lane the catalog counts stock on is one the gateway knows the unit weight of:
        # else it reports weight only and the location's stock stays unknown
        (device,) = [d for d in gw["devices"] if d.get("device_id") == parsed[0]]
        assert len(device.get("lanes", [])) >= parsed[1], (
            f"{lane['device']}: no unit weight in {GATEWAY.name}"
        )
        assert device["lanes"][parsed[1] - 1]["unit_weight_g"] > 0
    for asset in cat["assets"]:
        assert (asset["gateway"], asset["device"]) in {(gw["gateway_id"], d) for d in serial_ids}
    assert {g["id"] for g in cat["gateways"]} == {gw["gateway_id"]}


def test_a_lane_name_no_driver_sends_is_refused(core: BohCore) -> None:
    bad = catalog()
    bad["locations"][0]["lanes"][0]["device"] = "shelf-01/lane-1"
    with pytest.raises(CatalogError, match=r"'shelf-01/lane-1' is not a lane: .*'<device id>.lane-<n>'"):
        core.load_catalog(bad)


def test_the_mapping_shows_unmatched_catalog_devices_and_unmapped_reporting_devices(core: BohCore) -> None:
    before = core.catalog_mapping()
    assert {(d.gateway, d.device, d.kind) for d in before.unmatched} == {
        (GW, LANE_A, "lane"),
        (GW, LANE_B, "lane"),
        (GW, VIB, "asset"),
    }
    assert before.unmapped == []
    stranger = Reading("shelf-9.lane-2", "units", T0, 4.0)  # a shelf the catalog does not know
    core.apply_batches([batch(1, [units(LANE_A, 1, 5), stranger])])
    after = core.catalog_mapping()
    (lane_b, vib) = sorted(after.unmatched, key=lambda d: d.kind, reverse=True)
    assert (lane_b.device, lane_b.site, lane_b.sku, lane_b.location) == (
        LANE_B,
        "store-t1",
        "COLA",
        "aisle-1/shelf-1",
    )
    assert lane_b.candidates == ["shelf-9.lane-2"]  # same gateway, same lane number, unmapped
    assert (vib.device, vib.asset_id) == (VIB, "cooler-1")
    assert [(d.gateway, d.device) for d in after.unmapped] == [(GW, "shelf-9.lane-2")]
    assert core.catalog_mapping(gateway="other").unmatched == []
    s = core.summary()
    assert (s["devices_unmatched"], s["devices_unmapped"]) == (2, 1)
