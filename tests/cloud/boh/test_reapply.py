"""Re-applying from the quarantine: what a fault set aside as ``apply-failed`` is applied
once the fault is gone, through the core and through ``bohsense cloud quarantine``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import msgspec
import pytest

from bohsense.cli import main
from bohsense.cloud.boh import BohCore, NotFound
from bohsense.cloud.ports import QuarantineItem
from bohsense.contracts.codec import encode
from bohsense.contracts.schema import GatewayStatus
from bohsense.contracts.topics import readings_topic, status_topic

from .factory import GW, LANE_A, T0, batch, units


def set_aside(core: BohCore, seq: int, units_value: float) -> int:
    """What ingest does with a batch the core failed on: its seq recorded, the batch quarantined."""
    b = batch(seq, [units(LANE_A, seq, units_value)])
    core.apply_batches([msgspec.structs.replace(b, readings=[])])
    core.quarantine([QuarantineItem(readings_topic(GW), encode(b), "apply-failed", "boom", T0, GW)])
    (q,) = core.list_quarantine(reason="apply-failed")
    return q.id


def test_a_quarantined_batch_is_applied_once_and_leaves_the_quarantine(core: BohCore) -> None:
    qid = set_aside(core, 1, 3)
    assert core.stock_levels()[0].units is None
    (done,) = core.reapply_quarantined([qid], actor="ops")
    assert (done.id, done.ok, done.what) == (qid, True, "batch seq 1 (1 readings)")
    assert core.stock_levels()[0].units == 3.0
    assert core.list_quarantine() == []
    (trail,) = core.audit(entity="quarantine", entity_id=str(qid))
    assert (trail.from_state, trail.to_state, trail.actor) == ("apply-failed", "reapplied", "ops")
    with pytest.raises(NotFound):
        core.reapply_quarantined([qid], actor="ops")


def test_only_apply_failed_items_can_be_reapplied_and_failures_keep_the_item(core: BohCore) -> None:
    core.quarantine([QuarantineItem(readings_topic(GW), b"\x00junk", "malformed", "no", T0, GW)])
    (q,) = core.list_quarantine()
    (res,) = core.reapply_quarantined([q.id], actor="ops")
    assert not res.ok
    assert "malformed" in res.what
    assert len(core.list_quarantine()) == 1


def test_a_quarantined_status_is_recorded(core: BohCore) -> None:
    s = GatewayStatus(gateway=GW, state="online", ts=T0, version="2.0")
    core.quarantine([QuarantineItem(status_topic(GW), encode(s), "apply-failed", "boom", T0, GW)])
    (q,) = core.list_quarantine()
    assert core.reapply_quarantined([q.id], actor="ops")[0].ok
    assert (core.get_gateway(GW).state, core.get_gateway(GW).version) == ("online", "2.0")


@pytest.fixture
def root_logging() -> Iterator[None]:
    """``main`` configures the root logger for a process; give the test session's back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("root_logging")
def test_the_cli_reapplies_by_reason_and_gateway(
    core: BohCore, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    set_aside(core, 1, 3)
    assert main(["cloud", "quarantine", "reapply", "--database", db_url, "--reason", "apply-failed"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(o["ok"], o["what"]) for o in out] == [(True, "batch seq 1 (1 readings)")]
    assert core.stock_levels()[0].units == 3.0
    assert main(["cloud", "quarantine", "reapply", "--database", db_url, "--id", "999999"]) == 1
    assert "no quarantine item with id 999999" in capsys.readouterr().err
