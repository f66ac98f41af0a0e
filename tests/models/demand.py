"""Small generated demand histories in the long format of the M5 file, for the tests."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import numpy as np

HEADER = "item_id,dept_id,store_id,date,value,event_name_1,snap,sell_price"
START = dt.date(2020, 1, 6)  # a Monday


def series_values(kind: str, days: int, seed: int) -> np.ndarray:
    """Daily units: ``smooth`` (weekday-seasonal Poisson, weekends high) or
    ``intermittent`` (a sale on about one day in five)."""
    rng = np.random.default_rng(seed)
    wd = (np.arange(days) + START.weekday()) % 7
    if kind == "smooth":
        rate = 6.0 * np.where(wd >= 5, 1.8, 1.0)
        return rng.poisson(rate).astype(float)
    if kind == "intermittent":
        return (rng.random(days) < 0.2) * rng.integers(1, 4, days).astype(float)
    raise ValueError(kind)


def rows(days: int = 180, stores: tuple[str, ...] = ("CA_1", "TX_1")) -> list[str]:
    out = [HEADER]
    for k, (item, kind, price) in enumerate(
        (("FOODS_1_001", "smooth", 2.5), ("HOBBIES_1_002", "intermittent", 9.0))
    ):
        for j, store in enumerate(stores):
            values = series_values(kind, days, seed=10 * k + j)
            for d in range(days):
                day = START + dt.timedelta(days=d)
                event = "SuperBowl" if d == 30 else ""
                snap = "1" if day.day <= 10 else "0"
                out.append(f"{item},{item[:7]},{store},{day},{values[d]:.0f},{event},{snap},{price}")
    return out


def write(path: Path, lines: list[str], *, gz: bool = False) -> Path:
    text = "\n".join(lines) + "\n"
    if gz:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path
