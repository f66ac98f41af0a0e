"""``bohsense forecast`` and ``bohsense forecast eval`` as a user runs them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.models.demand import rows, write


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bohsense", "forecast", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_forecast_prints_the_horizon_after_each_series_last_day(tmp_path: Path) -> None:
    hist = write(tmp_path / "h.csv.gz", rows(days=120), gz=True)
    out = _run("--history", str(hist), "--horizon", "5", "--quantiles", "0.5,0.95")
    assert out.returncode == 0, out.stderr
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    assert list(table[0]) == ["item_id", "store_id", "date", "forecast", "q0.5", "q0.95"]
    assert len(table) == 4 * 5
    last = dt.date(2020, 1, 6) + dt.timedelta(days=119)
    first = [r for r in table if r["item_id"] == "FOODS_1_001" and r["store_id"] == "CA_1"]
    assert [r["date"] for r in first] == [str(last + dt.timedelta(days=k)) for k in range(1, 6)]
    for r in table:
        assert float(r["forecast"]) >= 0
        assert float(r["q0.5"]) <= float(r["q0.95"])
    smooth = sum(float(r["forecast"]) for r in first) / 5
    assert 4 < smooth < 14  # the generated series sells about 6-11 a day


def test_forecast_plain_columns_and_every_method(tmp_path: Path) -> None:
    hist = write(tmp_path / "h.csv", rows(days=90, stores=("CA_1",)))
    for method in ("sb", "auto", "tsb", "snaive"):
        out = _run("--history", str(hist), "--horizon", "2", "--method", method)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[0] == "item_id,store_id,date,forecast"
        assert len(lines) == 1 + 2 * 2


def test_method_choices_are_the_packages_methods_and_rules() -> None:
    from bohsense.models.forecast import GLOBAL, METHODS
    from bohsense.models.forecast.cli import METHOD_CHOICES

    assert set(METHOD_CHOICES) == {"sb", "auto", *GLOBAL, *METHODS}
    assert len(METHOD_CHOICES) == len(set(METHOD_CHOICES))


@pytest.mark.long  # fits the global models (~13 s)
def test_global_model_methods_need_enough_history(tmp_path: Path) -> None:
    long = write(tmp_path / "long.csv", rows(days=200, stores=("CA_1",)))
    out = _run("--history", str(long), "--horizon", "7", "--method", "combo")
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 1 + 2 * 7
    assert "fitting the global model" in out.stderr
    short = write(tmp_path / "short.csv", rows(days=90, stores=("CA_1",)))
    out = _run("--history", str(short), "--horizon", "7", "--method", "gbm")
    assert out.returncode == 2
    assert "120 days after its first sale" in out.stderr
    assert out.stdout == ""


def _set(lines: list[str], index: int, field: int, value: str) -> list[str]:
    parts = lines[index].split(",")
    parts[field] = value
    return [*lines[:index], ",".join(parts), *lines[index + 1 :]]


BAD = {
    "negative": (lambda ls: _set(ls, 5, 4, "-1"), "line 6: value '-1' is negative (returns are not demand"),
    "non-numeric": (lambda ls: _set(ls, 5, 4, "n/a"), "line 6: value 'n/a' is not a number"),
    "duplicated day": (
        lambda ls: [*ls[:7], ls[6], *ls[7:]],
        "line 8: FOODS_1_001 at CA_1 on 2020-01-11 appears twice",
    ),
    "gap": (lambda ls: [*ls[:3], *ls[4:]], "line 4: FOODS_1_001 at CA_1 has no row for 2020-01-08 (gap"),
    "missing column": (
        lambda ls: [ls[0].replace("value", "units"), *ls[1:]],
        "missing required column(s): value",
    ),
    "unknown day": (
        lambda ls: _set(ls, 9, 3, "2020-01-32"),
        "line 10: date '2020-01-32' is not a YYYY-MM-DD day",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_history_exits_2_naming_the_line_and_prints_nothing(tmp_path: Path, case: str) -> None:
    change, words = BAD[case]
    hist = write(tmp_path / "bad.csv", change(rows(days=40, stores=("CA_1",))))
    out = _run("--history", str(hist), "--horizon", "3")
    assert out.returncode == 2
    assert out.stdout == ""
    assert words in out.stderr
    assert out.stderr.startswith("bohsense forecast: ")


def test_gaps_can_be_filled_as_zero_sale_days(tmp_path: Path) -> None:
    lines = rows(days=40, stores=("CA_1",))
    hist = write(tmp_path / "gap.csv", [*lines[:3], *lines[4:]])
    assert _run("--history", str(hist), "--horizon", "3").returncode == 2
    out = _run("--history", str(hist), "--horizon", "3", "--fill-gaps")
    assert out.returncode == 0, out.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    hist = write(tmp_path / "h.csv", rows(days=40))
    assert _run("--history", str(hist)).returncode == 2
    assert "between 1 and" in _run("--history", str(hist), "--horizon", "0").stderr
    assert (
        "not between 0 and 1" in _run("--history", str(hist), "--horizon", "2", "--quantiles", "1.5").stderr
    )
    missing = _run("--history", str(tmp_path / "nope.csv"), "--horizon", "2")
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr


def test_eval_reports_wrmsse_for_ours_and_the_benchmarks(tmp_path: Path) -> None:
    hist = write(tmp_path / "h.csv", rows(days=260))
    out = _run("eval", "--data", str(hist), "--holdout", "28", "--earlier", "56")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["series"] == 4
    for window in ("last_window", "earlier_window"):
        for m in ("sb", "combo", "gbm", "auto", "snaive", "ses", "tsb"):
            assert 0 < report[window][m] < 5
    cover = report["quantile_coverage_last_window"]
    assert list(cover) == ["0.5", "0.8", "0.9", "0.95", "0.99"]
    assert list(cover.values()) == sorted(cover.values())
    assert cover["0.95"] >= 0.8  # Poisson-like demand: the 95 % quantile is rarely exceeded
    holdout = report["store_holdout"]
    assert set(holdout["table_learned"]) >= {"smooth", "intermittent"}
    assert 0 < holdout["learned_sb"] < 5
    # Poisson demand around a weekday pattern: seasonal naive is the worst of them
    assert report["last_window"]["snaive"] > report["last_window"]["sb"]
