"""A bad hand-over sheet: every error by sheet, row and column, and nothing imported."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest

from bohsense.cloud.boh import BohCore, SkuSpec
from bohsense.cloud.commission import Issue, SheetInvalid, import_plan, read_plan
from tests.cloud.commission.sheets import Sections, example_sections, row_number, to_csv, to_xlsx

HEADER = -1  # the header row of a section


def _set(section: str, index: int, column: str, value: object) -> Callable[[Sections], None]:
    def change(s: Sections) -> None:
        header = s[section][0]
        if column not in header:
            header.append(column)
            for row in s[section][1:]:
                row.append("")
        s[section][index + 1][header.index(column)] = value

    return change


def _copy_row(section: str, index: int) -> Callable[[Sections], None]:
    def change(s: Sections) -> None:
        s[section].append(list(s[section][index + 1]))

    return change


def _rename_column(section: str, old: str, new: str) -> Callable[[Sections], None]:
    def change(s: Sections) -> None:
        s[section][0][s[section][0].index(old)] = new

    return change


def _drop_section(name: str) -> Callable[[Sections], None]:
    return lambda s: s.pop(name) and None


def _add_section(name: str) -> Callable[[Sections], None]:
    return lambda s: s.__setitem__(name, [["x"], ["1"]])


# (what is wrong, the change, (section, data row or HEADER or None, column, words of the reason))
CASES = [
    (
        "unknown column",
        _rename_column("lanes", "aisle", "colour"),
        ("lanes", HEADER, "colour", "unknown column 'colour'"),
    ),
    ("unknown section", _add_section("extras"), ("extras", HEADER, None, "unknown sheet/section 'extras'")),
    ("missing section", _drop_section("devices"), ("devices", None, None, "required and missing")),
    (
        "missing column",
        _rename_column("lanes", "unit_weight_g", "aisle2"),
        ("lanes", HEADER, "unit_weight_g", "required and missing"),
    ),
    ("empty required cell", _set("lanes", 2, "sku", ""), ("lanes", 2, "sku", "is required and empty")),
    (
        "duplicate device",
        _set("devices", 1, "device", "shelf-01"),
        ("devices", 1, "device", "duplicate device 'shelf-01'"),
    ),
    ("duplicate lane", _copy_row("lanes", 0), ("lanes", 5, "lane", "lane 1 of 'shelf-01' is already at row")),
    ("duplicate asset", _set("assets", 1, "asset", "cooler-01"), ("assets", 1, "asset", "duplicate asset")),
    ("duplicate sku", _set("skus", 1, "sku", "SKU-COLA-330"), ("skus", 1, "sku", "duplicate SKU")),
    (
        "wrong type int",
        _set("lanes", 1, "capacity", "twelve"),
        ("lanes", 1, "capacity", "must be a whole number"),
    ),
    (
        "wrong type float",
        _set("lanes", 3, "unit_weight_g", "abc"),
        ("lanes", 3, "unit_weight_g", "must be a number"),
    ),
    (
        "fraction for int",
        _set("lanes", 3, "capacity", "2.5"),
        ("lanes", 3, "capacity", "must be a whole number"),
    ),
    (
        "negative weight",
        _set("lanes", 0, "unit_weight_g", "-5"),
        ("lanes", 0, "unit_weight_g", "must be more than 0"),
    ),
    ("lane 0", _set("lanes", 4, "lane", "0"), ("lanes", 4, "lane", "must be at least 1")),
    (
        "port out of range",
        _set("devices", 4, "llrp_port", "70000"),
        ("devices", 4, "llrp_port", "must be at most 65535"),
    ),
    (
        "bad choice",
        _set("devices", 2, "kind", "camera"),
        ("devices", 2, "kind", "'camera' is not one of shelf"),
    ),
    ("bad id", _set("devices", 0, "device", "shelf 01"), ("devices", 0, "device", "is not an id")),
    (
        "lane on a sensor",
        _set("lanes", 4, "device", "vib-01"),
        ("lanes", 4, "device", "a condition device, not a shelf"),
    ),
    (
        "lane on unknown device",
        _set("lanes", 4, "device", "shelf-09"),
        ("lanes", 4, "device", "not in the devices section"),
    ),
    (
        "sensor is a shelf",
        _set("assets", 1, "sensor", "shelf-02"),
        ("assets", 1, "sensor", "a shelf device, not a condition sensor"),
    ),
    (
        "unknown reader",
        _set("zones", 0, "reader", "reader-09"),
        ("zones", 0, "reader", "not in the devices section"),
    ),
    (
        "one SKU, two weights",
        _set("lanes", 1, "unit_weight_g", "350"),
        ("lanes", 1, "unit_weight_g", "weighs 352 g at row"),
    ),
    ("location disagrees", _set("lanes", 1, "min", "3"), ("lanes", 1, "min", "has min 6.0 at row")),
    ("target below min", _set("lanes", 3, "target", "2"), ("lanes", 3, "target", "is below its min")),
    (
        "half a bearing",
        _set("assets", 1, "bearing_balls", "9"),
        ("assets", 1, "bearing_ball_d_mm", "needs bearing_ball_d_mm"),
    ),
    ("bad gtin", _set("skus", 0, "gtin", "00012345678906"), ("skus", 0, "gtin", "its check digit is 5")),
    ("gtin of letters", _set("skus", 0, "gtin", "ABC"), ("skus", 0, "gtin", "is not a GTIN")),
    (
        "http broker",
        _set("gateway", 0, "broker_url", "http://mqtt.example.com"),
        ("gateway", 0, "broker_url", "must start with mqtt://"),
    ),
    (
        "credentials in URL",
        _set("gateway", 0, "broker_url", "mqtt://u:secret@h:1883"),
        ("gateway", 0, "broker_url", "credentials"),
    ),
    ("bad gateway id", _set("gateway", 0, "gateway", "gw:1"), ("gateway", 0, "gateway", "gateway id 'gw:1'")),
    ("two sites", _copy_row("site", 0), ("site", None, None, "exactly one row, has 2")),
    (
        "shelf without lanes",
        lambda s: s.__setitem__("lanes", s["lanes"][:4]),
        ("devices", 1, "device", "shelf 'shelf-02' has no lane"),
    ),
    (
        "reader without zones",
        _drop_section("zones"),
        ("devices", 4, "device", "rfid reader 'reader-01' has no antenna"),
    ),
    ("serial without port", _set("devices", 2, "port", ""), ("devices", 2, "port", "needs its serial port")),
    (
        "port on a reader",
        _set("devices", 4, "port", "/dev/ttyUSB9"),
        ("devices", 4, "port", "is not for a rfid device"),
    ),
    (
        "tuning without sensor",
        _set("assets", 1, "sensor", ""),
        ("assets", 1, "machine_class", "name it in the sensor column"),
    ),
]


@pytest.mark.parametrize("form", ["csv", "xlsx"])
@pytest.mark.parametrize(("what", "change", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_error_names_its_sheet_row_and_column(
    form: str, what: str, change: Callable[[Sections], None], expected: tuple
) -> None:
    sections = example_sections()
    change(sections)
    data = to_csv(sections) if form == "csv" else to_xlsx(sections)
    with pytest.raises(SheetInvalid) as caught:
        read_plan(data)
    section, index, column, words = expected
    if index is None:
        row = None
    else:
        csv_row, xlsx_row = row_number(sections, section, index)
        row = csv_row if form == "csv" else xlsx_row
    found = [i for i in caught.value.issues if i.sheet == section and i.column == column]
    assert found, f"{what}: no issue in {section}/{column}: {caught.value.issues}"
    assert any(i.row == row and words in i.message for i in found), (what, row, found)
    assert len(caught.value.issues) <= 4, caught.value.issues  # the error itself, not a cascade
    assert str(found[0]).startswith(f"sheet {section!r}")


def test_an_invalid_sheet_imports_nothing(core: BohCore) -> None:
    sections = example_sections()
    _set("lanes", 4, "capacity", "-1")(sections)
    with pytest.raises(SheetInvalid):
        import_plan(core, read_plan(to_csv(sections)), actor="tester")
    assert core.list_sites() == []
    assert core.audit(limit=10) == []


def test_every_error_is_reported_at_once(core: BohCore) -> None:
    sections = example_sections()
    for change in (
        _set("lanes", 1, "capacity", "x"),
        _set("devices", 1, "device", "shelf-01"),
        _rename_column("assets", "rpm", "speed"),
    ):
        change(sections)
    with pytest.raises(SheetInvalid) as caught:
        read_plan(to_xlsx(sections))
    where = {(i.sheet, i.column) for i in caught.value.issues}
    assert {("lanes", "capacity"), ("devices", "device"), ("assets", "speed")} <= where
    speed = next(i for i in caught.value.issues if i.column == "speed")
    assert speed.letter == "F"
    assert "column F (speed)" in str(speed)


def test_an_unknown_sku_is_refused_and_nothing_is_imported(core: BohCore) -> None:
    sections = example_sections()
    _set("lanes", 3, "sku", "SKU-NOWHERE")(sections)
    with pytest.raises(SheetInvalid) as caught:
        import_plan(core, read_plan(to_csv(sections)), actor="tester")
    (issue,) = caught.value.issues
    assert (issue.sheet, issue.row, issue.column) == ("lanes", row_number(sections, "lanes", 3)[0], "sku")
    assert "unknown SKU 'SKU-NOWHERE'" in issue.message
    assert core.list_sites() == []


def test_a_row_the_catalog_refuses_rolls_back_the_whole_import(core: BohCore) -> None:
    """The GTIN belongs to another SKU already: the site, gateway and SKUs written before
    that row in the same transaction are gone too."""
    core.change_catalog(lambda ops: ops.put_sku(SkuSpec("SKU-OLD", gtin="00012345678905")), actor="tester")
    before = len(core.audit(limit=1000))
    sections = example_sections()
    _set("skus", 2, "gtin", "00012345678905")(sections)
    with pytest.raises(SheetInvalid) as caught:
        import_plan(core, read_plan(to_csv(sections)), actor="tester")
    (issue,) = caught.value.issues
    assert (issue.sheet, issue.row) == ("skus", row_number(sections, "skus", 2)[0])
    assert "is the GTIN of sku 'SKU-OLD'" in issue.message
    assert core.list_sites() == []
    assert core.list_gateways() == []
    assert [s.sku for s in core.list_skus()] == ["SKU-OLD"]
    assert len(core.audit(limit=1000)) == before


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"[site]\nsite\n\xff\xfe\n", "not UTF-8"),
        (b"PK\x03\x04garbage", "not a readable XLSX workbook"),
        (b"site,name\nx,y\n", "a row before any [section] line"),
        (b"[site]\n", "the section has no header line"),
    ],
)
def test_an_unreadable_file_is_refused_with_the_reason(data: bytes, words: str) -> None:
    with pytest.raises(SheetInvalid) as caught:
        read_plan(data)
    assert any(words in i.message for i in caught.value.issues), caught.value.issues


def test_an_xlsx_with_a_cell_of_the_wrong_type_names_its_cell() -> None:
    sections = example_sections()
    data = to_xlsx(sections)
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data))
    book["lanes"]["E3"] = True  # capacity of the second lane: a boolean
    buf = io.BytesIO()
    book.save(buf)
    with pytest.raises(SheetInvalid) as caught:
        read_plan(buf.getvalue())
    assert caught.value.issues == [Issue("lanes", 3, "capacity", "must be a whole number, not True", "E")]
    assert zipfile.is_zipfile(io.BytesIO(data))
