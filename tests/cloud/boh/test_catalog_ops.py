"""The catalog changed while the system runs: through the operations (the API's path) and by
reloading the file (a thin client of the same operations): retired, not deleted, audited,
in effect at once."""

from __future__ import annotations

import copy

import pytest

from bohsense.cloud.boh import (
    AssetSpec,
    BohCore,
    CatalogError,
    GatewaySpec,
    LaneSpec,
    LocationSpec,
    NotFound,
    RuleSpec,
    SkuSpec,
)

from .factory import CLEAR, DURATION_S, GW, LANE_A, LANE_B, LIMIT, SITE, VIB, batch, catalog, units, vib


def fault(core: BohCore, seq: int, start_s: float = 0) -> None:
    core.apply_batches([batch(seq, [vib(start_s + t, LIMIT + 1) for t in range(0, DURATION_S + 1, 5)])])


def catalog_events(core: BohCore, kind: str) -> list[tuple[str, str | None, str]]:
    return [(a.entity_id, a.from_state, a.to_state) for a in core.audit(entity=f"catalog.{kind}", limit=1000)]


def test_a_reload_that_removes_an_asset_retires_it_and_its_rule(core: BohCore) -> None:
    data = catalog()
    data["assets"] = []
    summary = core.load_catalog(data)
    assert summary.retired == 1
    assert core.list_assets() == []
    (retired,) = core.list_assets(include_retired=True)
    assert retired.retired_ns is not None
    assert [(r.condition, r.retired_ns is not None) for r in retired.rules] == [("vibration-high", True)]
    fault(core, 1)  # its sensor goes on reporting: nothing opens
    assert core.list_alerts() == []
    assert (VIB, "unknown") in {(d.device, d.kind) for d in core.list_devices()}  # unmapped, its history kept
    assert ("cooler-1", "active", "retired") in catalog_events(core, "asset")
    assert ("cooler-1/vibration-high", "active", "retired") in catalog_events(core, "rule")
    core.load_catalog(data)  # again: nothing more to retire
    assert len(catalog_events(core, "asset")) == 2  # created, retired


def test_an_alert_of_a_retired_rule_can_be_resolved(core: BohCore) -> None:
    fault(core, 1)
    (alert,) = core.list_alerts()
    core.change_catalog(lambda ops: ops.retire_asset("cooler-1"), actor="ops")
    assert core.resolve_alert(alert.id, actor="tech-1", note="compressor removed").state == "resolved"


def test_a_renamed_lane_retires_the_old_one(core: BohCore) -> None:
    core.apply_batches([batch(1, [units(LANE_A, 1, 5), units(LANE_B, 1, 7)])])
    assert core.stock_levels()[0].units == 12.0
    data = copy.deepcopy(catalog())
    data["locations"][0]["lanes"][1]["device"] = "shelf-01.lane-3"
    core.load_catalog(data)
    (loc,) = core.list_locations()
    assert [lane.device for lane in loc.lanes] == [LANE_A, "shelf-01.lane-3"]
    core.apply_batches([batch(2, [units(LANE_A, 2, 5), units(LANE_B, 2, 9)])])
    assert core.stock_levels()[0].units == 5.0  # the old lane no longer counts
    (old,) = [x for x in core.list_locations(include_retired=True)[0].lanes if x.device == LANE_B]
    assert old.retired_ns is not None
    assert {(d.device, d.kind) for d in core.catalog_mapping().unmapped} == {(LANE_B, "unknown")}


def test_a_changed_location_revises_its_open_proposal_at_once(core: BohCore) -> None:
    core.apply_batches([batch(1, [units(LANE_A, 1, 8)])])
    (p,) = core.list_proposals()
    assert (p.reorder_point, p.target, p.quantity) == (10.0, 40.0, 36)
    spec = LocationSpec(
        SITE,
        "COLA",
        "aisle-1/shelf-1",
        min=12,
        target=46,
        safety_stock=4,
        lanes=(LaneSpec(GW, LANE_A), LaneSpec(GW, LANE_B)),
    )
    core.change_catalog(lambda ops: ops.put_location(spec), actor="planner")
    revised = core.get_proposal(p.id)
    # ceil((46 - 8) / 6) * 6 = 42, with the new parameters shown
    assert (revised.reorder_point, revised.target, revised.quantity) == (12.0, 46.0, 42)
    entry = core.audit(entity="replenishment_proposal", entity_id=str(p.id))[-1]
    assert entry.detail["followed"] == "parameters"
    (change,) = [a for a in core.audit(entity="catalog.location") if a.actor == "planner"]
    assert change.detail == {"changed": {"min_units": [10.0, 12.0], "target_units": [40.0, 46.0]}}


def test_operations_take_effect_without_a_restart(core: BohCore) -> None:
    rule = RuleSpec("temperature-high", "temp_c", limit=8.0, clear_below=6.0, min_duration_s=0)
    asset = AssetSpec("fridge-2", SITE, name="Fridge 2", gateway=GW, device="temp-02", rules=(rule,))
    core.change_catalog(lambda ops: ops.put_asset(asset), actor="ops")
    from bohsense.contracts.schema import Reading

    from .factory import T0, S

    core.apply_batches([batch(1, [Reading("temp-02", "temp_c", T0 + S, 11.0)])])
    (alert,) = core.list_alerts()
    assert (alert.asset_id, alert.condition) == ("fridge-2", "temperature-high")
    (a,) = [x for x in core.list_assets() if x.id == "fridge-2"]
    assert a.sensors == [{"gateway": GW, "device": "temp-02"}]


def test_what_is_still_used_is_not_retired(core: BohCore) -> None:
    with pytest.raises(CatalogError, match="sku 'COLA' is still used by location store-t1/aisle-1/shelf-1"):
        core.change_catalog(lambda ops: ops.retire_sku("COLA"), actor="ops")
    with pytest.raises(CatalogError, match="site 'store-t1' is still used by gateway gw-t1, asset cooler-1"):
        core.change_catalog(lambda ops: ops.retire_site(SITE), actor="ops")
    with pytest.raises(NotFound):
        core.change_catalog(lambda ops: ops.retire_asset("nope"), actor="ops")


def test_retiring_a_location_rejects_its_open_proposal_and_keeps_history(core: BohCore) -> None:
    core.apply_batches([batch(1, [units(LANE_A, 1, 2)])])
    (p,) = core.list_proposals()
    (loc,) = core.list_locations()
    core.change_catalog(lambda ops: ops.retire_location(loc.id), actor="planner")
    assert core.get_proposal(p.id).state == "rejected"
    assert core.stock_levels() == []
    assert core.list_locations() == []
    assert core.list_locations(include_retired=True)[0].retired_ns is not None
    core.apply_batches([batch(2, [units(LANE_A, 2, 1)])])
    assert len(core.list_proposals()) == 1  # nothing new for a retired location


def test_a_put_restores_a_retired_entry(core: BohCore) -> None:
    core.change_catalog(lambda ops: ops.retire_asset("cooler-1"), actor="ops")
    asset = catalog()["assets"][0]
    spec = AssetSpec(
        asset["id"],
        SITE,
        gateway=GW,
        device=VIB,
        rules=(RuleSpec("vibration-high", "vib_rms_mm_s", LIMIT, CLEAR, DURATION_S),),
    )
    change = core.change_catalog(lambda ops: ops.put_asset(spec), actor="ops")
    assert change.action == "restored"
    fault(core, 1)
    assert len(core.list_alerts()) == 1
    assert ("cooler-1", "retired", "active") in catalog_events(core, "asset")


def test_a_retired_gateways_data_is_held(core: BohCore) -> None:
    core.change_catalog(lambda ops: ops.put_gateway(GatewaySpec("gw-spare", SITE)), actor="ops")
    core.change_catalog(lambda ops: ops.retire_gateway("gw-spare"), actor="ops")
    out = core.apply_batches([batch(1, gateway="gw-spare")])
    assert out.held == 1
    assert core.list_quarantine(reason="unknown-gateway")[0].gateway == "gw-spare"


def test_a_device_feeds_one_thing(core: BohCore) -> None:
    spec = AssetSpec("fridge-3", SITE, gateway=GW, device=LANE_A)
    with pytest.raises(CatalogError, match="already feeds a lane"):
        core.change_catalog(lambda ops: ops.put_asset(spec), actor="ops")
    assert [a.id for a in core.list_assets()] == ["cooler-1"]  # the failed operation left nothing


def test_a_bad_sku_is_refused(core: BohCore) -> None:
    with pytest.raises(CatalogError, match="pack_size must be >= 1"):
        core.change_catalog(lambda ops: ops.put_sku(SkuSpec("TEA", pack_size=0)), actor="ops")


def test_a_restored_rule_watches_afresh(core: BohCore) -> None:
    fault(core, 1)
    assert core.list_assets()[0].rules[0].phase == "fault"
    spec = AssetSpec("cooler-1", SITE, gateway=GW, device=VIB)  # no rules: the rule is retired
    core.change_catalog(lambda ops: ops.put_asset(spec), actor="ops")
    assert core.list_assets()[0].rules == []
    rule = RuleSpec("vibration-high", "vib_rms_mm_s", LIMIT, CLEAR, DURATION_S)
    core.change_catalog(
        lambda ops: ops.put_asset(AssetSpec("cooler-1", SITE, gateway=GW, device=VIB, rules=(rule,))),
        actor="ops",
    )
    assert core.list_assets()[0].rules[0].phase == "normal"
