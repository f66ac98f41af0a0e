"""Run-to-failure tables: one row per unit and cycle, whitespace- or comma-separated.

Columns: ``unit``, ``cycle``, then one or more numeric features; an optional first
line of column names. Within a unit, cycles increase. Every problem names its line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bohsense.models.errors import InputError

__all__ = ["Table", "parse_table", "read_table"]

_SPLIT = re.compile(r"[,\s]+")


@dataclass(frozen=True, slots=True)
class Table:
    units: np.ndarray  # int, one per row
    cycles: np.ndarray  # int
    features: np.ndarray  # float, rows x columns
    names: tuple[str, ...]  # feature column names

    def unit_ids(self) -> list[int]:
        return list(dict.fromkeys(self.units.tolist()))


def read_table(path: str | Path) -> Table:
    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read: {exc}") from exc
    try:
        return parse_table(text.splitlines())
    except InputError as exc:
        raise InputError(f"{p}: {exc}") from exc


def _int(text: str, what: str, line: int) -> int:
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"{what} {text!r} is not a number", line) from None
    if not math.isfinite(v) or v != int(v) or v < 0:
        raise InputError(f"{what} {text!r} is not a whole number >= 0", line)
    return int(v)


def parse_table(lines: list[str]) -> Table:
    rows: list[list[float]] = []
    units: list[int] = []
    cycles: list[int] = []
    names: tuple[str, ...] | None = None
    width = None
    last: dict[int, int] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        fields = _SPLIT.split(text)
        if width is None:
            if len(fields) < 3:
                raise InputError(
                    f"need columns unit, cycle and at least one feature, got {len(fields)}", number
                )
            width = len(fields)
            try:
                float(fields[0])
            except ValueError:  # a header line
                names = tuple(fields[2:])
                continue
        if len(fields) != width:
            raise InputError(f"expected {width} columns like the first line, got {len(fields)}", number)
        unit = _int(fields[0], "unit", number)
        cycle = _int(fields[1], "cycle", number)
        if unit in last and cycle <= last[unit]:
            raise InputError(f"unit {unit}: cycle {cycle} does not follow cycle {last[unit]}", number)
        last[unit] = cycle
        values = []
        for i, f in enumerate(fields[2:], start=3):
            try:
                v = float(f)
            except ValueError:
                raise InputError(f"column {i}: {f[:40]!r} is not a number", number) from None
            if not math.isfinite(v):
                raise InputError(f"column {i}: {f!r} is not finite", number)
            values.append(v)
        units.append(unit)
        cycles.append(cycle)
        rows.append(values)
    if not rows:
        raise InputError("no data rows")
    assert width is not None
    return Table(
        np.asarray(units, dtype=int),
        np.asarray(cycles, dtype=int),
        np.asarray(rows, dtype=float),
        names or tuple(f"f{i}" for i in range(1, width - 1)),
    )
