"""Read a hand-over sheet (CSV or XLSX) into its raw sections: header and rows, each row
with its spreadsheet row number, the cells as the file holds them (XLSX: numbers stay
numbers; CSV: text). No meaning is given to any cell here (``_plan`` does that).

CSV: one file; a line whose first cell is ``[name]`` starts section ``name``, the next
non-empty line is its header; empty lines and lines whose first cell starts with ``#``
are skipped. XLSX: one worksheet per section, named as the section, the header in its
first non-empty row. Rows whose cells are all empty are skipped in both.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from ._errors import Issue, SheetInvalid

__all__ = ["MAX_ROWS", "MAX_SHEET_BYTES", "RawSection", "column_letter", "read_sheet"]

#: the largest sheet read (a store has a few hundred lanes; this is far above)
MAX_SHEET_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
_XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class RawSection:
    name: str
    #: the row of the header (CSV: its line)
    header_row: int
    header: list[str]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_sheet(data: bytes, *, filename: str = "") -> list[RawSection]:
    """The sections of a sheet, XLSX when it is a zip file (or named ``*.xlsx``), else CSV."""
    if len(data) > MAX_SHEET_BYTES:
        raise SheetInvalid([Issue("(file)", None, None, f"the sheet is larger than {MAX_SHEET_BYTES} bytes")])
    if data.startswith(_XLSX_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data)
    return _read_csv(data)


def _read_csv(data: bytes) -> list[RawSection]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SheetInvalid(
            [
                Issue(
                    "(file)",
                    None,
                    None,
                    f"the CSV file is not UTF-8 text (byte {exc.start}): save it as CSV UTF-8",
                )
            ]
        ) from None
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    sections: list[RawSection] = []
    issues: list[Issue] = []
    current: RawSection | None = None
    pending: str | None = None  # a section whose header is next
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        for line, cells in enumerate(reader, start=1):
            if all(_empty(c) for c in cells):
                continue
            first = cells[0].strip()
            if first.startswith("#"):
                continue
            if first.startswith("[") and first.endswith("]"):
                name = first[1:-1].strip()
                if any(not _empty(c) for c in cells[1:]):
                    issues.append(Issue(name, line, None, "a section line holds only [name]"))
                pending, current = name, None
                continue
            if pending is not None:
                current = RawSection(pending, line, [c.strip() for c in cells])
                sections.append(current)
                pending = None
                continue
            if current is None:
                issues.append(Issue("(file)", line, None, "a row before any [section] line"))
                continue
            if len(current.rows) >= MAX_ROWS:
                issues.append(Issue(current.name, line, None, f"more than {MAX_ROWS} rows"))
                break
            current.rows.append((line, [c if c.strip() else None for c in cells]))
    except csv.Error as exc:
        issues.append(Issue("(file)", reader.line_num, None, f"not readable as CSV: {exc}"))
    if pending is not None:
        issues.append(Issue(pending, None, None, "the section has no header line"))
    if issues:
        raise SheetInvalid(issues)
    return sections


def _read_xlsx(data: bytes) -> list[RawSection]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise SheetInvalid([Issue("(file)", None, None, f"not a readable XLSX workbook: {exc}")]) from None
    sections: list[RawSection] = []
    issues: list[Issue] = []
    try:
        for sheet in book.worksheets:
            if sheet.title.strip().upper() == "README":  # the template's explanations
                continue
            current: RawSection | None = None
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = [None if _empty(v) else v for v in values]
                while cells and cells[-1] is None:
                    cells.pop()
                if not cells:
                    continue
                if current is None:
                    header = ["" if v is None else str(v).strip() for v in cells]
                    current = RawSection(sheet.title.strip(), number, header)
                    continue
                if len(current.rows) >= MAX_ROWS:
                    issues.append(Issue(current.name, number, None, f"more than {MAX_ROWS} rows"))
                    break
                current.rows.append((number, cells))
            if current is not None:  # a worksheet with nothing in it is no section
                sections.append(current)
    finally:
        book.close()
    if issues:
        raise SheetInvalid(issues)
    return sections
