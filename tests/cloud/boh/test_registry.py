"""Registry trust: the catalog says which gateways exist and where; what a gateway claims does
not move it, and an unknown gateway's data is held (quarantined ``unknown-gateway``) until
the catalog registers it, unless the core runs in the documented auto-register mode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bohsense.cloud.boh import BohCore, CatalogError
from bohsense.contracts.codec import decode_batch
from bohsense.contracts.schema import GatewayStatus

from .factory import GW, LANE_A, SITE, T0, batch, catalog, units

ROGUE = "gw-rogue"


def rogue_catalog() -> dict[str, object]:
    data = catalog()
    data["gateways"].append({"id": ROGUE, "site": SITE})
    data["locations"][0]["lanes"].append({"gateway": ROGUE, "device": "shelf-07.lane-1"})
    return data


def test_a_status_does_not_move_a_gateway_out_of_its_catalog_site(core: BohCore) -> None:
    core.record_status(GatewayStatus(gateway=GW, state="online", ts=T0, site="store-elsewhere"))
    g = core.get_gateway(GW)
    assert (g.site, g.claimed_site, g.registration, g.state) == (SITE, "store-elsewhere", "catalog", "online")
    (mismatch,) = [a for a in core.audit(entity="gateway", entity_id=GW) if "claimed_site" in a.detail]
    assert mismatch.detail == {"claimed_site": "store-elsewhere", "catalog_site": SITE}
    core.record_status(GatewayStatus(gateway=GW, state="online", ts=T0 + 1, site="store-elsewhere"))
    assert len([a for a in core.audit(entity="gateway", entity_id=GW) if "claimed_site" in a.detail]) == 1


def test_an_unknown_gateways_batches_are_held_not_attributed(core: BohCore) -> None:
    held = batch(1, [units("shelf-07.lane-1", 1, 3)], gateway=ROGUE)
    out = core.apply_batches([held, batch(1, [units(LANE_A, 1, 20)])])
    assert (out.applied, out.held, out.watermarks) == (1, 1, {GW: 1, ROGUE: 1})
    (q,) = core.list_quarantine(reason="unknown-gateway")
    assert q.gateway == ROGUE
    assert "not in the catalog" in q.detail
    assert "claims site 'store-t1'" in q.detail
    assert decode_batch(core.quarantine_payload(q.id)) == held  # kept whole
    g = core.get_gateway(ROGUE)
    assert (g.registration, g.site, g.claimed_site) == ("pending", "", SITE)
    assert [d.device for d in core.list_devices(gateway=ROGUE)] == []  # nothing attributed
    assert core.stock_levels()[0].units == 20.0  # the known gateway's reading only
    again = core.apply_batches([held])  # the gateway publishes it again: a duplicate, held once
    assert (again.duplicates, again.held) == (1, 0)
    assert len(core.list_quarantine(reason="unknown-gateway")) == 1
    assert [x.id for x in core.list_gateways(registration="pending")] == [ROGUE]


def test_an_unknown_gateways_status_is_pending(core: BohCore) -> None:
    core.record_status(GatewayStatus(gateway=ROGUE, state="online", ts=T0, site=SITE, version="9"))
    g = core.get_gateway(ROGUE)
    assert (g.registration, g.site, g.claimed_site, g.state) == ("pending", "", SITE, "online")
    assert core.summary()["gateways_pending"] == 1


def test_registering_the_gateway_releases_what_was_held(core: BohCore) -> None:
    core.apply_batches([batch(1, [units("shelf-07.lane-1", 1, 3)], gateway=ROGUE)])
    assert core.stock_levels()[0].units is None
    core.load_catalog(rogue_catalog())
    assert core.stock_levels()[0].units == 3.0  # the held reading, applied now
    assert core.list_quarantine(reason="unknown-gateway") == []
    g = core.get_gateway(ROGUE)
    assert (g.registration, g.site) == ("catalog", SITE)
    (entry,) = [a for a in core.audit(entity="gateway", entity_id=ROGUE) if "released" in a.detail]
    assert entry.detail["released"] == 1
    core.apply_batches([batch(2, [units("shelf-07.lane-1", 2, 4)], gateway=ROGUE)])
    assert core.stock_levels()[0].units == 4.0


def test_a_catalog_naming_an_undeclared_gateway_is_refused(core: BohCore) -> None:
    data = catalog()
    data["locations"][0]["lanes"].append({"gateway": "gw-nowhere", "device": "shelf-07.lane-1"})
    with pytest.raises(
        CatalogError, match=r"locations\[0\].lanes\[2\]: gateway 'gw-nowhere' is not declared"
    ):
        core.load_catalog(data)


@pytest.fixture
def open_core(db_url: str) -> Iterator[BohCore]:
    boh = BohCore(db_url, auto_register=True)
    boh.migrate()
    boh.load_catalog(catalog())
    yield boh
    boh.close()


def test_auto_register_mode_trusts_what_a_gateway_claims(open_core: BohCore) -> None:
    out = open_core.apply_batches([batch(1, [units("shelf-07.lane-1", 1, 3)], gateway=ROGUE)])
    assert (out.applied, out.held) == (1, 0)
    g = open_core.get_gateway(ROGUE)
    assert (g.registration, g.site) == ("auto", SITE)
    assert [d.device for d in open_core.list_devices(gateway=ROGUE)] == ["shelf-07.lane-1"]
    assert open_core.list_quarantine() == []
    open_core.record_status(GatewayStatus(gateway="gw-new", state="online", ts=T0, site="s2"))
    assert (open_core.get_gateway("gw-new").registration, open_core.get_gateway("gw-new").site) == (
        "auto",
        "s2",
    )
