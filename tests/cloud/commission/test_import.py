"""Importing a hand-over sheet (CSV and XLSX) into the catalog, through the catalog operations."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bohsense.cloud.boh import AssetSpec, BohCore, RuleSpec, SiteSpec, SkuSpec
from bohsense.cloud.commission import SheetInvalid, import_plan, read_plan, stored_plan
from tests.cloud.commission.sheets import EXAMPLE, example_sections, to_csv, to_xlsx


def _catalog(core: BohCore) -> dict[str, object]:
    locations = {
        (x.sku, x.location): (
            x.min,
            x.target,
            x.safety_stock,
            x.aisle,
            x.shelf,
            x.zone,
            sorted(lane.device for lane in x.lanes),
        )
        for x in core.list_locations(site="store-0042")
    }
    assets = {a.id: (a.name, a.kind, a.sensors) for a in core.list_assets(site="store-0042")}
    (site,) = core.list_sites()
    return {
        "site": (site.id, site.name, sorted((z.zone, z.kind) for z in site.zones)),
        "gateways": [(g.id, g.site, g.registration) for g in core.list_gateways()],
        "skus": sorted((s.sku, s.name, s.unit, s.pack_size) for s in core.list_skus()),
        "assets": assets,
        "locations": locations,
    }


EXPECTED = {
    "site": ("store-0042", "Main Street", [("backroom", "backroom"), ("exit", "door"), ("floor", "floor")]),
    "gateways": [("gw-0042", "store-0042", "catalog")],
    "skus": [
        ("SKU-CHIPS-150", "Crisps 150 g", "bag", 10),
        ("SKU-COLA-330", "Cola 330 ml", "can", 24),
        ("SKU-WATER-500", "Still water 500 ml", "bottle", 12),
    ],
    "assets": {
        "cooler-01": (
            "Walk-in cooler compressor",
            "compressor",
            [{"gateway": "gw-0042", "device": "vib-01"}],
        ),
        "hvac-01": ("Roof-top HVAC fan", "fan", [{"gateway": "gw-0042", "device": "vib-02"}]),
    },
    "locations": {
        ("SKU-COLA-330", "A1-cola"): (
            6.0,
            24.0,
            2.0,
            "A1",
            "3",
            "floor",
            ["shelf-01.lane-1", "shelf-01.lane-2"],
        ),
        ("SKU-WATER-500", "A1-water"): (4.0, 10.0, 1.0, "A1", "3", "floor", ["shelf-01.lane-3"]),
        ("SKU-CHIPS-150", "A2-chips"): (
            8.0,
            20.0,
            2.0,
            "A2",
            "1",
            "",
            ["shelf-02.lane-1", "shelf-02.lane-2"],
        ),
    },
}


@pytest.mark.parametrize("form", ["csv", "xlsx"])
def test_a_sheet_enters_the_catalog_with_its_audit_and_its_plan(core: BohCore, form: str) -> None:
    sections = example_sections()
    data = to_csv(sections) if form == "csv" else to_xlsx(sections)
    plan = read_plan(data, filename=f"store.{form}")
    result = import_plan(core, plan, actor="tester")
    assert _catalog(core) == EXPECTED
    assert result.changes["lane created"] == 5
    assert result.changes["location created"] == 3
    assert result.changes["device created"] == 7  # 5 lanes and 2 condition sensors mapped
    kinds = [e.kind for e in core.audit(limit=1000)]
    assert kinds.count("catalog.lane.created") == 5
    assert kinds.count("catalog.asset.created") == 2
    assert kinds[-1] == "commission.imported"
    (event,) = core.audit(entity="commission", entity_id="store-0042")
    assert event.actor == "tester"
    stored, _ = stored_plan(core, "store-0042")
    assert stored == plan


def test_csv_and_xlsx_of_one_sheet_are_one_plan() -> None:
    sections = example_sections()
    from_csv = read_plan(to_csv(sections))
    from_xlsx = read_plan(to_xlsx(sections))
    from_text_xlsx = read_plan(to_xlsx(sections, numbers=False))
    for part in ("lanes", "assets", "devices", "zones", "skus"):
        csv_rows = _unrowed(getattr(from_csv, part))
        assert csv_rows == _unrowed(getattr(from_xlsx, part)) == _unrowed(getattr(from_text_xlsx, part)), part
        assert _unrowed(getattr(read_plan(EXAMPLE.read_bytes()), part)) == csv_rows
    assert from_xlsx.site == from_csv.site
    assert from_xlsx.gateway == from_csv.gateway


def _unrowed(items: tuple[Any, ...]) -> list[Any]:
    return [dataclasses.replace(x, row=0) for x in items]


def test_importing_again_changes_nothing_and_existing_rules_stay(core: BohCore) -> None:
    plan = read_plan(EXAMPLE.read_bytes())
    import_plan(core, plan, actor="tester")
    rule = RuleSpec("overheat", "temp_c", 8.0, 6.0, 600.0, "major")
    core.change_catalog(
        lambda ops: ops.put_asset(
            AssetSpec(
                "cooler-01",
                "store-0042",
                "Walk-in cooler compressor",
                "compressor",
                "gw-0042",
                "vib-01",
                (rule,),
            )
        ),
        actor="tester",
    )
    again = import_plan(core, plan, actor="tester")
    assert not [k for k in again.changes if not k.endswith("unchanged")], again.changes
    (cooler,) = [a for a in core.list_assets() if a.id == "cooler-01"]
    assert [(r.condition, r.retired_ns) for r in cooler.rules] == [("overheat", None)]
    assert len(core.audit(entity="commission", entity_id="store-0042")) == 2


def test_skus_the_catalog_knows_need_not_be_in_the_sheet(core: BohCore) -> None:
    plan = read_plan(EXAMPLE.read_bytes())
    import_plan(core, plan, actor="tester")
    sections = example_sections()
    del sections["skus"]
    sections["site"][1] = ["store-0043", "High Street"]
    sections["gateway"][1][0] = "gw-0043"
    core.change_catalog(lambda ops: ops.put_site(SiteSpec("store-0043")), actor="tester")
    result = import_plan(core, read_plan(to_csv(sections)), actor="tester")
    assert result.changes["location created"] == 3
    assert {x.sku for x in core.list_locations(site="store-0043")} == {
        "SKU-COLA-330",
        "SKU-WATER-500",
        "SKU-CHIPS-150",
    }


def test_on_postgresql_the_import_is_one_transaction_too(pg_url: str) -> None:
    core = BohCore(pg_url)
    core.migrate()
    try:
        sections = example_sections()
        sections["lanes"][5][2] = "SKU-NOWHERE"
        with pytest.raises(SheetInvalid):
            import_plan(core, read_plan(to_csv(sections)), actor="tester")
        core.change_catalog(
            lambda ops: ops.put_sku(SkuSpec("SKU-OLD", gtin="00012345678905")), actor="tester"
        )
        sections = example_sections()
        sections["skus"][3][4] = "00012345678905"  # another SKU's GTIN: the catalog refuses that row
        with pytest.raises(SheetInvalid, match="GTIN of sku 'SKU-OLD'"):
            import_plan(core, read_plan(to_csv(sections)), actor="tester")
        assert core.list_sites() == []
        plan = read_plan(EXAMPLE.read_bytes())
        import_plan(core, plan, actor="tester")
        assert _catalog(core) == {**EXPECTED, "skus": sorted([*EXPECTED["skus"], ("SKU-OLD", "", "unit", 1)])}
        assert stored_plan(core, "store-0042")[0] == plan
    finally:
        core.close()
