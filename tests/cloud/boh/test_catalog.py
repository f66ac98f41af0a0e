"""Catalog seeding from dicts, TOML and JSON files, with clear errors for bad catalogs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bohsense.cloud.boh import BohCore, CatalogError

from .factory import catalog

EXAMPLE = Path(__file__).parents[3] / "cloud/bohsense/cloud/boh/catalog.example.toml"


def test_the_documented_example_loads(core: BohCore) -> None:
    summary = core.load_catalog(EXAMPLE)
    assert (summary.sites, summary.assets, summary.rules, summary.locations, summary.lanes) == (1, 1, 3, 1, 2)
    (asset,) = core.list_assets()
    assert asset.recipients == ("tech.anna", "lead.bruno")
    assert {r.condition: r.engine for r in asset.rules}["vibration-anomaly"] == "detector"
    devices = {(d.gateway, d.device): d for d in core.list_devices(gateway="store-0042")}
    assert devices[("store-0042", "vib-01")].asset_id == "cooler-01"
    assert devices[("store-0042", "shelf-01.lane-1")].kind == "lane"
    assert core.stock_levels(site="store-0042")[0].target == 48


def test_a_json_file_loads_and_reloading_updates_in_place(core: BohCore, tmp_path: Path) -> None:
    data = catalog()
    data["locations"][0]["target"] = 60
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data))
    first = core.load_catalog(path)
    again = core.load_catalog(path)
    assert first == again
    (level,) = core.stock_levels()
    assert level.target == 60
    assert len(core.list_devices()) == 3


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c["gateways"][0].update(site="mars"), r"gateways\[0\]: unknown site 'mars'"),
        (lambda c: c["skus"][0].update(pack_size=0), r"skus\[0\]: pack_size must be >= 1"),
        (lambda c: c["skus"][0].update(pack_size="six"), r"skus\[0\]: field 'pack_size' has the wrong type"),
        (
            lambda c: c["assets"][0]["rules"][0].pop("metric"),
            r"assets\[0\].rules\[0\]: missing field 'metric'",
        ),
        (lambda c: c["assets"][0]["rules"][0].update(clear_below=99), "clear_below .* must not exceed limit"),
        (lambda c: c["locations"][0].update(sku="GHOST"), r"locations\[0\]: unknown sku 'GHOST'"),
        (lambda c: c["locations"][0].update(target=1), r"target \(1.0\) must be >= min"),
        (lambda c: c.update(shops=[]), r"unknown section\(s\) \['shops'\]"),
        (lambda c: c.update(sites={"id": "x"}), "'sites' must be a list of tables"),
    ],
)
def test_bad_catalogs_are_refused_with_the_entry_and_field(core: BohCore, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    data = catalog()
    mutate(data)
    with pytest.raises(CatalogError, match=message):
        core.load_catalog(data)


def test_an_unreadable_file_is_a_catalog_error(core: BohCore, tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text("[[sites]\nid=")
    with pytest.raises(CatalogError, match="cannot read catalog"):
        core.load_catalog(bad)
    with pytest.raises(CatalogError, match="cannot read catalog"):
        core.load_catalog(tmp_path / "missing.toml")
