"""Exactly once on (gateway, seq): duplicates, reordering, floors and watermark pruning."""

from __future__ import annotations

import sqlalchemy as sa

from bohsense.cloud.boh import BohCore, GatewaySpec
from bohsense.cloud.boh._models import IngestSeq

from .factory import GW, LANE_A, batch, units


def recorded_seqs(core: BohCore, gateway: str = GW) -> list[int]:
    with core._engine.connect() as conn:
        return list(
            conn.scalars(sa.select(IngestSeq.seq).where(IngestSeq.gateway == gateway).order_by(IngestSeq.seq))
        )


def test_the_same_batches_twice_are_applied_once(core: BohCore) -> None:
    batches = [batch(1), batch(2), batch(3)]
    first = core.apply_batches(batches)
    assert (first.applied, first.duplicates, first.readings_applied) == (3, 0, 3)
    assert first.watermarks == {GW: 3}
    again = core.apply_batches(batches)
    assert (again.applied, again.duplicates, again.readings_applied) == (0, 3, 0)
    assert again.watermarks == {GW: 3}
    assert core.get_gateway(GW).watermark == 3


def test_duplicates_inside_one_call_count_as_duplicates(core: BohCore) -> None:
    out = core.apply_batches([batch(1), batch(2), batch(1), batch(2), batch(2)])
    assert (out.applied, out.duplicates) == (2, 3)
    assert out.watermarks == {GW: 2}


def test_reordered_seqs_fill_the_gap_and_prune_the_records(core: BohCore) -> None:
    out = core.apply_batches([batch(3), batch(1)])
    assert out.applied == 2
    assert out.watermarks == {GW: 1}  # 2 is missing: the watermark stops below the gap
    assert recorded_seqs(core) == [3]
    out = core.apply_batches([batch(5)])
    assert out.watermarks == {GW: 1}
    assert recorded_seqs(core) == [3, 5]
    assert core.apply_batches([batch(3)]).duplicates == 1  # recorded above the watermark
    out = core.apply_batches([batch(2)])
    assert (out.applied, out.watermarks) == (1, {GW: 3})
    assert recorded_seqs(core) == [5]  # everything at or below the watermark is pruned
    out = core.apply_batches([batch(4)])
    assert out.watermarks == {GW: 5}
    assert recorded_seqs(core) == []


def test_in_order_traffic_keeps_the_seq_table_empty(core: BohCore) -> None:
    for start in range(1, 200, 50):
        core.apply_batches([batch(s) for s in range(start, start + 50)])
    assert core.get_gateway(GW).watermark == 200
    assert recorded_seqs(core) == []


def test_a_floor_moves_the_watermark_past_a_gap_that_will_never_fill(core: BohCore) -> None:
    core.apply_batches([batch(1), batch(2)])
    # the gateway dropped 3..7 from its outbox (overflow): its floor is now 8
    out = core.apply_batches([batch(10, floor=8)])
    assert out.applied == 1
    assert out.watermarks == {GW: 7}  # 8 and 9 may still come
    assert recorded_seqs(core) == [10]
    out = core.apply_batches([batch(9, floor=8), batch(8, floor=8)])
    assert (out.applied, out.watermarks) == (2, {GW: 10})
    assert recorded_seqs(core) == []
    late = core.apply_batches([batch(5)])  # below the floor: never applied
    assert (late.applied, late.duplicates) == (0, 1)


def test_a_batch_below_the_floor_in_the_same_call_is_still_applied(core: BohCore) -> None:
    out = core.apply_batches([batch(4), batch(9, floor=9)])
    assert (out.applied, out.duplicates) == (2, 0)
    assert out.watermarks == {GW: 9}


def test_gateways_keep_separate_watermarks(core: BohCore) -> None:
    core.change_catalog(lambda ops: ops.put_gateway(GatewaySpec("gw-other", "store-t1")), actor="ops")
    out = core.apply_batches([batch(1), batch(1, gateway="gw-other"), batch(2, gateway="gw-other")])
    assert (out.applied, out.duplicates) == (3, 0)
    assert out.watermarks == {GW: 1, "gw-other": 2}
    assert {g.id for g in core.list_gateways()} == {GW, "gw-other"}


def test_a_duplicate_never_changes_stock(core: BohCore) -> None:
    core.apply_batches([batch(1, [units(LANE_A, 1, 30)])])
    # a replay of seq 1 carrying different content must not be applied
    core.apply_batches([batch(1, [units(LANE_A, 2, 3)])])
    assert core.stock_levels()[0].units == 30


def test_empty_call_is_a_no_op(core: BohCore) -> None:
    out = core.apply_batches([])
    assert (out.applied, out.duplicates, dict(out.watermarks)) == (0, 0, {})
