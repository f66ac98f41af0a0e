"""``bohsense models score`` as a process: shape, bounds, causality, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from bohsense.models.synthetic import anomaly_series

from .support import bohsense


def _csv(timestamps: list[str], values: list[str]) -> str:
    return "timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in zip(timestamps, values, strict=True))


def _series(seed: int, n: int) -> tuple[list[str], list[str]]:
    s = anomaly_series(seed, n, events=4, base="white")
    return [f"{t:.3f}" for t in s.timestamps.tolist()], [repr(v) for v in s.values.tolist()]


def _scores(stdout: str) -> list[float]:
    return [float(line) for line in stdout.splitlines()]


def test_one_bounded_score_per_row_and_the_anomalies_stand_out() -> None:
    ts, vs = _series(21, 3000)
    out = bohsense("score", stdin=_csv(ts, vs))
    assert out.returncode == 0, out.stderr
    scores = _scores(out.stdout)
    assert len(scores) == 3000
    assert all(0.0 <= s <= 1.0 for s in scores)
    events = anomaly_series(21, 3000, events=4, base="white").events
    hits = [max(scores[e.start : e.start + 30]) >= 0.5 for e in events]
    assert sum(hits) >= 3, (events, hits)
    quiet = np.ones(3000, bool)
    for e in events:
        quiet[e.start - 1 : e.end + 130] = False
    assert np.mean(np.array(scores)[quiet] >= 0.5) < 0.01


def test_scores_of_a_prefix_are_the_prefix_of_the_scores() -> None:
    ts, vs = _series(5, 1200)
    full = _scores(bohsense("score", stdin=_csv(ts, vs)).stdout)
    prefix = _scores(bohsense("score", stdin=_csv(ts[:700], vs[:700])).stdout)
    assert prefix == full[:700]


def test_epoch_timestamps_in_exponent_form_are_read() -> None:
    out = bohsense("score", stdin="timestamp,value\n1.7e9,1\n1.7e-3e0,2\n")
    assert out.returncode == 2
    assert "line 3: timestamp '1.7e-3e0' is neither" in out.stderr
    ok = bohsense("score", stdin="timestamp,value\n1.5e-3,1\n2.5e-3,2\n")
    assert ok.returncode == 0, ok.stderr
    assert len(ok.stdout.splitlines()) == 2


def test_iso_timestamps_any_scale_and_non_finite_values_as_sensor_faults() -> None:
    ts = [f"2026-03-01T00:{i // 60:02d}:{i % 60:02d}Z" for i in range(200)]
    rng = np.random.default_rng(3)
    vs = [repr(1e-6 * v) for v in rng.standard_normal(200).tolist()]
    vs[150], vs[151] = "nan", "-inf"
    out = bohsense("score", stdin=_csv(ts, vs))
    assert out.returncode == 0, out.stderr
    scores = _scores(out.stdout)
    assert scores[150] == scores[151] == 1.0
    assert max(scores[30:150] + scores[152:]) < 0.5


@pytest.mark.parametrize(
    ("stdin", "message", "rows_scored"),
    [
        ("", "line 1: empty input", 0),
        ("time,val\n1,2\n", "line 1: expected the header 'timestamp,value'", 0),
        ("timestamp,value\n1,2\n2,3,4\n", "line 3: expected 2 fields", 1),
        ("timestamp,value\n1,2\n2,abc\n3,4\n", "line 3: value 'abc' is not a number", 1),
        ("timestamp,value\n1,2\nyesterday,3\n", "line 3: timestamp 'yesterday' is neither", 1),
        ("timestamp,value\n5,2\n4,3\n", "line 3: timestamp '4' is earlier than the row before it", 1),
        ("timestamp,value\n1,2\n,3\n", "line 3: empty timestamp", 1),
        ("timestamp,value\n1,2\nnan,3\n", "line 3: timestamp 'nan' is not finite", 1),
    ],
)
def test_malformed_input_names_the_line_and_exits_2(stdin: str, message: str, rows_scored: int) -> None:
    out = bohsense("score", stdin=stdin)
    assert out.returncode == 2
    assert message in out.stderr
    assert len(out.stdout.splitlines()) == rows_scored  # the rows before it keep their scores
