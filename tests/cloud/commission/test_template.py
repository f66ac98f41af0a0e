"""The shipped template is the section list, and the docs list every column."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from bohsense.cloud.commission import SECTIONS, read_plan, template_csv
from tests.cloud.commission.sheets import ROOT, example_sections

TEMPLATES = ROOT / "deploy" / "commissioning"
DOC = (ROOT / "docs" / "commissioning.md").read_text()


def test_the_shipped_csv_template_is_the_generated_one() -> None:
    assert (TEMPLATES / "handover-template.csv").read_text() == template_csv(), (
        "regenerate deploy/commissioning/handover-template.* (see bohsense.cloud.commission._template)"
    )


def test_the_shipped_xlsx_template_has_every_section_and_column_and_a_readme() -> None:
    book = load_workbook(TEMPLATES / "handover-template.xlsx", read_only=True)
    assert book.sheetnames == ["README", *(s.name for s in SECTIONS)]
    for s in SECTIONS:
        (header,) = book[s.name].iter_rows(values_only=True)
        assert list(header) == [c.name for c in s.columns]
    described = {(r[0], r[1]) for r in book["README"].iter_rows(min_row=4, values_only=True)}
    assert described == {(s.name, c.name) for s in SECTIONS for c in s.columns}


def test_the_xlsx_template_filled_in_is_a_valid_sheet() -> None:
    book = load_workbook(TEMPLATES / "handover-template.xlsx")
    for name, rows in example_sections().items():
        assert rows[0] == [c.value for c in book[name][1]]
        for row in rows[1:]:
            book[name].append([v or None for v in row])
    buf = io.BytesIO()
    book.save(buf)
    plan = read_plan(buf.getvalue(), filename="store.xlsx")
    assert (plan.site.id, len(plan.devices), len(plan.lanes), len(plan.assets)) == ("store-0042", 5, 5, 2)


def test_the_docs_describe_every_section_and_column() -> None:
    for s in SECTIONS:
        part = DOC.split(f"#### `{s.name}`", 1)
        assert len(part) == 2, f"docs/commissioning.md has no section {s.name!r}"
        table = part[1].split("####", 1)[0]
        documented = re.findall(r"^\| `(\w+)` \|", table, flags=re.M)
        assert documented == [c.name for c in s.columns], s.name
