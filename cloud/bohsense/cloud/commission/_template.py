"""The blank hand-over sheet, made from the section list (``_schema``): an XLSX workbook
with one worksheet per section (its header row) and a ``README`` worksheet describing
every column, and the same as one CSV file (a filled example: ``example-store.csv``).
The shipped ``deploy/commissioning/handover-template.*`` are these (a test compares them)."""

from __future__ import annotations

import csv
import io

from ._schema import SECTIONS, Column

__all__ = ["README_SHEET", "template_csv", "template_xlsx"]

#: the worksheet that explains the others; the reader skips it
README_SHEET = "README"


def _kind(c: Column) -> str:
    kind = {"id": "id", "str": "text", "int": "whole number", "float": "number"}.get(c.kind, "")
    if c.kind == "choice":
        kind = "one of " + ", ".join(c.choices)
    bounds = [f">= {c.low:g}" if c.low is not None else "", f"> {c.above:g}" if c.above is not None else ""]
    bounds.append(f"<= {c.high:g}" if c.high is not None else "")
    return " ".join([kind, *[b for b in bounds if b]])


def template_csv() -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    buf.write("# bohsense hand-over sheet: one [section] per sheet, then its header line, then rows.\n")
    buf.write("# Columns and rules: docs/commissioning.md; a filled example: example-store.csv.\n")
    for s in SECTIONS:
        w.writerow([f"[{s.name}]"])
        w.writerow([c.name for c in s.columns])
    return buf.getvalue()


def template_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    readme = book.active
    assert readme is not None
    readme.title = README_SHEET
    readme.append(["bohsense hand-over sheet: one worksheet per section; docs/commissioning.md"])
    readme.append([])
    readme.append(["sheet", "column", "required", "type", "what"])
    for s in SECTIONS:
        for c in s.columns:
            readme.append([s.name, c.name, "yes" if c.required else "", _kind(c), c.help])
    for s in SECTIONS:
        sheet = book.create_sheet(s.name)
        sheet.append([c.name for c in s.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
