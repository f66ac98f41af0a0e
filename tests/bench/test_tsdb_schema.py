"""``bohsense bench tsdb-schema`` runs end to end on a real InfluxDB (speed not asserted)."""

from __future__ import annotations

from bohsense.bench._tsdb_schema import make_fleet
from bohsense.cloud.tsdb import measurement_of
from tests.bench.test_bench import run_cli


def test_the_fleet_has_shelves_condition_sensors_and_readers_in_batches_of_100() -> None:
    batches = make_fleet(2, 10)
    assert {b.gateway for b in batches} == {"bench-gw-000", "bench-gw-001"}
    assert all(0 < len(b.readings) <= 100 for b in batches)
    kinds = {measurement_of(r.metric) for b in batches for r in b.readings}
    assert kinds == {"shelf", "condition", "reader"}
    for gw in ("bench-gw-000", "bench-gw-001"):
        seqs = [b.seq for b in batches if b.gateway == gw]
        assert sorted(seqs) == list(range(1, len(seqs) + 1))


def test_schema_bench_end_to_end() -> None:
    out, err = run_cli("bench", "tsdb-schema", "--stores", "2", "--seconds", "5", "--rounds", "2")
    assert out["readings"] == sum(len(b.readings) for b in make_fleet(2, 5))
    assert out["rounds"] == 2
    assert len(out["ratios_per_round"]) == 2
    assert out["legacy_readings_per_s"] > 0
    assert out["current_readings_per_s"] > 0
    assert out["lines"]["legacy"] == out["readings"]  # one line per reading
    assert out["lines"]["current"] < out["readings"]  # a condition block is one line
    # per store: 40 lanes + 10 sensors + 4 readers, against a series per device x metric
    assert out["series"]["current"] == 2 * 54
    assert out["series"]["legacy"] > out["series"]["current"]
    assert "round 2:" in err
