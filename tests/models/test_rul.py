"""Remaining life on a synthetic degradation fleet, through the API and the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bohsense.models.errors import InputError
from bohsense.models.rul import RulModel, Table, parse_table
from bohsense.models.synthetic import degradation_fleet

from .support import bohsense


def _table(rows: np.ndarray) -> Table:
    return parse_table([" ".join(f"{v:.6g}" for v in r) for r in rows])


def _truncate(rows: np.ndarray, seed: int) -> tuple[np.ndarray, dict[int, int]]:
    rng = np.random.default_rng(seed)
    kept, truth = [], {}
    for u in np.unique(rows[:, 0]).astype(int):
        r = rows[rows[:, 0] == u]
        rul = int(rng.integers(5, min(120, len(r) - 30)))
        kept.append(r[: len(r) - rul])
        truth[u] = rul
    return np.vstack(kept), truth


@pytest.fixture(scope="module")
def fleet() -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    train = degradation_fleet(1, units=24)
    test, truth = _truncate(degradation_fleet(2, units=12), seed=3)
    return train, test, truth


def test_model_beats_a_constant_and_its_band_covers(
    fleet: tuple[np.ndarray, np.ndarray, dict[int, int]],
) -> None:
    train, test, truth = fleet
    model = RulModel(settings=1).fit(_table(train))
    assert model.keep_ is not None
    assert model.columns_ - 1 not in model.keep_.tolist()
    band = model.predict_interval(_table(test))
    y = np.array([truth[u] for u in band])
    med = np.array([b[1] for b in band.values()])
    rmse = float(np.sqrt(np.mean((med - y) ** 2)))
    constant = float(np.sqrt(np.mean((y.mean() - y) ** 2)))
    assert rmse < 0.6 * constant, (rmse, constant)
    inside = np.mean([lo <= t <= hi for (lo, _, hi), t in zip(band.values(), y, strict=True)])
    assert inside >= 0.5
    assert all(lo <= m <= hi for lo, m, hi in band.values())


def test_operating_conditions_are_found_and_normalised_away() -> None:
    train = degradation_fleet(4, units=30, conditions=3)
    test, truth = _truncate(degradation_fleet(5, units=12, conditions=3), seed=6)
    model = RulModel(settings=1).fit(_table(train))
    assert model.conditions_ is not None
    assert model.conditions_.n_clusters == 3  # type: ignore[attr-defined]
    pred = model.predict(_table(test))
    y = np.array([truth[u] for u in pred])
    rmse = float(np.sqrt(np.mean((np.array(list(pred.values())) - y) ** 2)))
    assert rmse < 0.6 * float(np.std(y)), rmse
    # without the settings column the conditions swamp the wear
    blind = RulModel(settings=0).fit(_table(train)).predict(_table(test))
    rmse_blind = float(np.sqrt(np.mean((np.array(list(blind.values())) - y) ** 2)))
    assert rmse < rmse_blind


def test_command_line_prints_unit_and_rul(
    tmp_path: Path, fleet: tuple[np.ndarray, np.ndarray, dict[int, int]]
) -> None:
    train, test, truth = fleet
    (tmp_path / "train.csv").write_text("\n".join(",".join(f"{v:.6g}" for v in r) for r in train) + "\n")
    (tmp_path / "test.txt").write_text("\n".join(" ".join(f"{v:.6g}" for v in r) for r in test) + "\n")
    out = bohsense("rul", "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.txt"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "unit,rul"
    got = {int(u): float(r) for u, r in (line.split(",") for line in lines[1:])}
    assert set(got) == set(truth)
    assert all(0 <= r <= 125 for r in got.values())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 1 0.5\n1 2 x\n", "line 2: column 3: 'x' is not a number"),
        ("1 1 0.5 2\n1 2 0.6\n", "line 2: expected 4 columns"),
        ("1 1 0.5\n1 1 0.6\n", "line 2: unit 1: cycle 1 does not follow cycle 1"),
        ("1 1.5 0.5\n", "line 1: cycle '1.5' is not a whole number"),
        ("1 1\n", "line 1: need columns unit, cycle and at least one feature"),
        ("1,1,inf\n", "line 1: column 3: 'inf' is not finite"),
    ],
)
def test_malformed_tables_name_the_line(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_table(text.splitlines())


def test_command_line_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("1 1 0.5\n1 2 0.5\n1 3 oops\n")
    out = bohsense("rul", "--train", str(bad), "--test", str(bad))
    assert out.returncode == 2
    assert f"{bad}: line 3: column 3: 'oops' is not a number" in out.stderr
    missing = bohsense("rul", "--train", str(tmp_path / "none.txt"), "--test", str(bad))
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
