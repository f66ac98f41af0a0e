"""Cells and rows of a sheet's sections, typed by their columns (``_schema``): ``Reader``
turns the raw sections into rows of typed values and collects every issue on the way."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ._errors import Issue
from ._schema import SECTIONS, Column, Section, section
from ._sheet import RawSection, column_letter

__all__ = ["Reader", "Row"]

#: an id: what the gateway accepts as a device's name (and what readings carry)
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")


# -- cells -----------------------------------------------------------------------------------


class _Bad(ValueError):
    pass


def _text(value: Any) -> str:
    if isinstance(value, bool):
        raise _Bad(f"must be text, not {value!r}")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id typed as a number: 12345, not 12345.0
    if isinstance(value, int | float | str):
        return str(value).strip()
    raise _Bad(f"must be text, not {type(value).__name__} {value!r}")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Bad(f"must be a whole number, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value.strip())
    raise _Bad(f"must be a whole number, not {value!r}")


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Bad(f"must be a number, not {value!r}")
    if isinstance(value, int | float):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise _Bad(f"must be a number, not {value!r}") from None
    else:
        raise _Bad(f"must be a number, not {type(value).__name__} {value!r}")
    if not math.isfinite(out):
        raise _Bad(f"must be a finite number, not {value!r}")
    return out


def _cell(col: Column, value: Any) -> Any:
    if col.kind in ("int", "float"):
        number: float = _int(value) if col.kind == "int" else _float(value)
        if col.low is not None and number < col.low:
            raise _Bad(f"must be at least {col.low:g}, not {number:g}")
        if col.above is not None and number <= col.above:
            raise _Bad(f"must be more than {col.above:g}, not {number:g}")
        if col.high is not None and number > col.high:
            raise _Bad(f"must be at most {col.high:g}, not {number:g}")
        return number
    text = _text(value)
    if len(text) > col.max_length:
        raise _Bad(f"is longer than {col.max_length} characters")
    if "\x00" in text:
        raise _Bad("holds a NUL character")
    if col.kind == "id" and not _DEVICE_ID.match(text):
        raise _Bad(f"{text!r} is not an id (letters, digits and _ . : - , starting with a letter or digit)")
    if col.kind == "choice":
        if text.lower() not in col.choices:
            raise _Bad(f"{text!r} is not one of {', '.join(col.choices)}")
        return text.lower()
    return text


@dataclass
class Row:
    number: int
    values: dict[str, Any]


class Reader:
    """Turns raw sections into typed rows, collecting every issue."""

    def __init__(self, raw: list[RawSection]) -> None:
        self.issues: list[Issue] = []
        self.rows: dict[str, list[Row]] = {}
        self.letters: dict[tuple[str, str], str] = {}
        seen: dict[str, int] = {}
        for sec in raw:
            spec = section(sec.name)
            if spec is None:
                known = ", ".join(s.name for s in SECTIONS)
                self.issue(
                    sec.name, sec.header_row, None, f"unknown sheet/section {sec.name!r} (known: {known})"
                )
                continue
            if sec.name in seen:
                self.issue(
                    sec.name,
                    sec.header_row,
                    None,
                    f"the section is given twice (first at row {seen[sec.name]})",
                )
                continue
            seen[sec.name] = sec.header_row
            self.rows[sec.name] = self._section(spec, sec)
        for spec in SECTIONS:
            if spec.required and spec.name not in seen:
                self.issue(spec.name, None, None, "this section is required and missing")
            elif spec.single and spec.name in self.rows and len(self.rows[spec.name]) != 1:
                n = len(self.rows[spec.name])
                self.issue(spec.name, None, None, f"must have exactly one row, has {n}")

    def issue(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        letter = self.letters.get((sheet, column)) if column else None
        self.issues.append(Issue(sheet, row, column, message, letter))

    def _section(self, spec: Section, sec: RawSection) -> list[Row]:
        index: dict[str, int] = {}
        for i, name in enumerate(sec.header):
            letter = column_letter(i)
            if not name:
                if any(i < len(cells) and cells[i] is not None for _, cells in sec.rows):
                    self.issues.append(
                        Issue(spec.name, sec.header_row, None, f"column {letter} has values but no header")
                    )
                continue
            if spec.column(name) is None:
                known = ", ".join(c.name for c in spec.columns)
                self.issues.append(
                    Issue(
                        spec.name, sec.header_row, name, f"unknown column {name!r} (known: {known})", letter
                    )
                )
                continue
            if name in index:
                self.issues.append(
                    Issue(spec.name, sec.header_row, name, "the column is given twice", letter)
                )
                continue
            index[name] = i
            self.letters[(spec.name, name)] = letter
        for col in spec.columns:
            if col.required and col.name not in index:
                self.issue(spec.name, sec.header_row, col.name, "this column is required and missing")
        out = []
        for number, cells in sec.rows:
            values: dict[str, Any] = {}
            extra = [column_letter(i) for i, v in enumerate(cells) if v is not None and i >= len(sec.header)]
            if extra:
                self.issue(
                    spec.name, number, None, f"values beyond the header in column(s) {', '.join(extra)}"
                )
            for name, i in index.items():
                cell_col = spec.column(name)
                assert cell_col is not None
                raw = cells[i] if i < len(cells) else None
                if raw is None:
                    if cell_col.required:
                        self.issue(spec.name, number, name, "is required and empty")
                    continue
                try:
                    values[name] = _cell(cell_col, raw)
                except _Bad as exc:
                    self.issue(spec.name, number, name, str(exc))
            out.append(Row(number, values))
        return out
