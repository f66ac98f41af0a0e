"""Hand-over sheets for the tests: the shipped example as sections, written as CSV or XLSX."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "deploy" / "commissioning" / "example-store.csv"

Sections = dict[str, list[list[Any]]]  # section → [header, row, row…]


def example_sections() -> Sections:
    """The shipped example sheet, section by section (header first)."""
    out: Sections = {}
    current: list[list[Any]] | None = None
    for cells in csv.reader(io.StringIO(EXAMPLE.read_text(encoding="utf-8"))):
        if not cells or cells[0].startswith("#"):
            continue
        if cells[0].startswith("["):
            current = out.setdefault(cells[0][1:-1], [])
            continue
        assert current is not None
        current.append(list(cells))
    return out


def to_csv(sections: Sections) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for name, rows in sections.items():
        w.writerow([f"[{name}]"])
        for row in rows:
            w.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode()


def to_xlsx(sections: Sections, *, numbers: bool = True) -> bytes:
    """A workbook with a worksheet per section; ``numbers``: numeric text as numbers, as a
    person typing into Excel gets."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sections.items():
        sheet = book.create_sheet(name)
        for i, row in enumerate(rows):
            sheet.append([_typed(v) if numbers and i else (None if v == "" else v) for v in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _typed(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if value == "":
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def row_number(sections: Sections, section: str, index: int) -> tuple[int, int]:
    """(CSV line, XLSX row) of data row ``index`` (0-based) of ``section`` as ``to_csv``
    and ``to_xlsx`` write them."""
    line = 0
    for name, rows in sections.items():
        line += 1  # the [section] line
        if name == section:
            return line + 1 + index + 1, index + 2
        line += len(rows)
    raise KeyError(section)
