"""The apply path under database faults: caches change only after commit, a failing or
refusing database is told apart from data the database cannot take, and a watermark
never moves further than one batch can justify."""

from __future__ import annotations

import msgspec
import pytest
import sqlalchemy as sa

from bohsense.cloud.boh import BohCore
from bohsense.cloud.ports import CoreUnavailable
from bohsense.contracts.schema import GatewayStatus

from .factory import GW, LANE_A, T0, batch, catalog, units
from .faults import FailStatements, admin_execute, limited_role


@pytest.fixture
def empty_core(db_url: str) -> BohCore:
    """A core that trusts a gateway it has never seen (auto-registration), so that a new
    gateway's first batch is applied rather than held."""
    core = BohCore(db_url, auto_register=True)
    core.migrate()
    return core


def test_a_rolled_back_first_batch_of_a_new_gateway_applies_on_retry(empty_core: BohCore) -> None:
    core = empty_core
    fault = FailStatements(core, "INSERT INTO devices", sa.exc.OperationalError)
    with pytest.raises(CoreUnavailable):
        core.apply_batches([batch(1, gateway="gw-new")])
    assert fault.hits == 1
    out = core.apply_batches([batch(1, gateway="gw-new")])  # the gateway row was rolled back with it
    assert (out.applied, out.watermarks) == (1, {"gw-new": 1})
    assert [d.device for d in core.list_devices(gateway="gw-new")] == ["unmapped-dev"]
    core.close()


def test_a_device_first_seen_in_a_rolled_back_transaction_is_registered_on_retry(core: BohCore) -> None:
    readings = [units(LANE_A, 1, 12), *batch(1).readings]  # a lane (effects) and a new device
    FailStatements(core, "UPDATE lanes", sa.exc.OperationalError)
    with pytest.raises(CoreUnavailable):
        core.apply_batches([batch(1, readings)])
    assert core.apply_batches([batch(1, readings)]).applied == 1
    assert "unmapped-dev" in [d.device for d in core.list_devices(gateway=GW)]


def test_data_errors_are_not_taken_for_an_unavailable_database(core: BohCore) -> None:
    FailStatements(core, "INSERT INTO devices", sa.exc.DataError)
    with pytest.raises(sa.exc.DataError):
        core.apply_batches([batch(1)])
    FailStatements(core, "UPDATE gateways", sa.exc.IntegrityError)
    with pytest.raises(sa.exc.IntegrityError):
        core.record_status(GatewayStatus(gateway=GW, state="online", ts=T0))


def test_statuses_results_and_quarantine_report_an_unavailable_database(core: BohCore) -> None:
    from bohsense.cloud.ports import QuarantineItem
    from bohsense.contracts.schema import CommandResult

    FailStatements(core, "", sa.exc.OperationalError, times=100)  # every statement
    with pytest.raises(CoreUnavailable):
        core.record_status(GatewayStatus(gateway=GW, state="online", ts=T0))
    with pytest.raises(CoreUnavailable):
        core.record_command_result(CommandResult(gateway=GW, id="c1", command="tare", ok=True, ts=T0))
    with pytest.raises(CoreUnavailable):
        core.quarantine([QuarantineItem("t", b"x", "malformed", "d", T0, GW)])


def test_revoked_privileges_are_an_unavailable_database_on_postgresql(pg_url: str) -> None:
    BohCore(pg_url).migrate()
    with limited_role(pg_url) as (url, role):
        core = BohCore(url, auto_register=True)
        core.load_catalog(catalog())
        admin_execute(pg_url, f"REVOKE INSERT, UPDATE ON devices FROM {role}")
        with pytest.raises(CoreUnavailable, match="permission"):
            core.apply_batches([batch(1, gateway="gw-new")])
        admin_execute(pg_url, f"GRANT INSERT, UPDATE ON devices TO {role}")
        assert core.apply_batches([batch(1, gateway="gw-new")]).watermarks == {"gw-new": 1}
        core.close()


def test_a_floor_never_moves_the_watermark_past_its_own_batch(core: BohCore) -> None:
    """The contract refuses ``floor > seq``; the applier does not trust it either."""
    forged = batch(5)
    msgspec.structs.force_setattr(forged, "floor", 2**63 - 1)  # past __post_init__, as a bug would
    out = core.apply_batches([forged])
    assert out.watermarks == {GW: 5}, "the floor is capped at the batch's seq: 5 is applied, below it settled"
    assert core.get_gateway(GW).watermark == 5
