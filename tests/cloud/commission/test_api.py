"""``/api/v1/commission``: the sheet as the request body, errors by sheet/row/column, the checklist."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.api import create_app
from bohsense.cloud.boh import BohCore
from bohsense.cloud.ports import LatestPoint
from bohsense.contracts.timeutil import now_ns
from tests.cloud.api.conftest import FakeTimeSeries
from tests.cloud.commission.sheets import example_sections, row_number, to_csv, to_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
URL = "/api/v1/commission/store-0042"


@pytest.fixture
def tsdb() -> FakeTimeSeries:
    return FakeTimeSeries()


@pytest.fixture
def client(core: BohCore, tsdb: FakeTimeSeries) -> Iterator[TestClient]:
    with TestClient(create_app(core=core, tsdb=tsdb)) as c:
        yield c


def test_a_csv_sheet_is_imported_and_answers_with_the_gateway_config(
    client: TestClient, core: BohCore
) -> None:
    r = client.post(f"{URL}/import", content=to_csv(example_sections()), headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["site"], body["gateway"], body["checked_only"]) == ("store-0042", "gw-0042", False)
    assert (body["devices"], body["lanes"], body["assets"]) == (5, 5, 2)
    assert body["changes"]["lane created"] == 5
    assert body["credentials"] is None  # the app names no broker files
    assert 'gateway_id = "gw-0042"' in body["gateway_config"]
    assert [e.actor for e in core.audit(entity="commission")] == ["api"]


def test_an_xlsx_sheet_with_check_changes_nothing(client: TestClient, core: BohCore) -> None:
    r = client.post(
        f"{URL}/import",
        params={"check": "true"},
        content=to_xlsx(example_sections()),
        headers={"content-type": XLSX},
    )
    assert r.status_code == 200, r.text
    assert r.json()["checked_only"] is True
    assert core.list_sites() == []


def test_an_invalid_sheet_is_422_with_every_error_located(client: TestClient, core: BohCore) -> None:
    sections = example_sections()
    sections["lanes"][2][4] = "lots"  # capacity of the second lane
    sections["devices"][0].append("colour")
    for row in sections["devices"][1:]:
        row.append("red")
    r = client.post(f"{URL}/import", content=to_xlsx(sections), headers={"content-type": XLSX})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"] == "the hand-over sheet has 2 error(s); nothing was imported"
    locs = {tuple(e["loc"]): e["msg"] for e in body["errors"]}
    assert (
        locs[("lanes", row_number(sections, "lanes", 1)[1], "capacity")]
        == "must be a whole number, not 'lots'"
    )
    assert "unknown column 'colour'" in locs[("devices", 1, "colour")]
    assert core.list_sites() == []


def test_the_sheet_must_be_for_the_site_in_the_path(client: TestClient) -> None:
    r = client.post(
        "/api/v1/commission/store-9/import",
        content=to_csv(example_sections()),
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 422
    assert "site 'store-0042', not 'store-9'" in r.json()["detail"]


def test_a_body_of_another_type_is_415(client: TestClient) -> None:
    r = client.post(f"{URL}/import", json={"site": "store-0042"})
    assert r.status_code == 415
    assert "CSV" in r.json()["detail"]


def test_the_checklist_is_404_before_an_import_and_then_json_or_html(
    client: TestClient, tsdb: FakeTimeSeries
) -> None:
    assert client.get(f"{URL}/checklist").status_code == 404
    client.post(f"{URL}/import", content=to_csv(example_sections()), headers={"content-type": "text/csv"})
    now = now_ns()
    tsdb.points += [
        LatestPoint("gw-0042", "shelf-01.lane-1", "weight_g", now - 10**9, 352.0 * 4 + 3.0),
        LatestPoint("gw-0042", "shelf-01.lane-2", "weight_g", now - 3600 * 10**9, 704.0),  # an hour old
        LatestPoint("gw-0042", "vib-01", "temp_c", now - 2 * 10**9, 4.5),
        LatestPoint("gw-0042", "reader-01", "connected", now - 10**9, 1.0),
        LatestPoint("gw-other", "vib-02", "temp_c", now, 4.5),  # another gateway's device of that name
    ]
    r = client.get(f"{URL}/checklist")
    assert r.status_code == 200, r.text
    items = {(i["check"], i["subject"]): (i["status"], i["reason"]) for i in r.json()["items"]}
    assert items[("lane", "shelf-01.lane-1")][0] == "pass"
    assert items[("lane", "shelf-01.lane-2")] == ("fail", "last weight 60 min ago")
    assert items[("asset", "cooler-01")][0] == "pass"
    assert items[("asset", "hvac-01")][0] == "missing"
    assert items[("device", "reader-01")][0] == "pass"
    assert items[("gateway", "gw-0042")] == ("missing", "the gateway has never reported its status")
    assert r.json()["ok"] is False
    html = client.get(f"{URL}/checklist", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    assert 'data-subject="shelf-01.lane-2" data-status="fail"' in html.text
    assert client.get(f"{URL}/checklist", params={"tolerance": "0.7"}).status_code == 422


def test_the_api_makes_the_broker_login_when_the_service_names_the_files(
    core: BohCore, tsdb: FakeTimeSeries, tmp_path: Path
) -> None:
    from bohsense.cloud.broker import verify_password

    app = create_app(core=core, tsdb=tsdb)
    app.state.broker_files = (tmp_path / "passwd", tmp_path / "acl")
    with TestClient(app) as client:
        r = client.post(
            f"{URL}/import", content=to_csv(example_sections()), headers={"content-type": "text/csv"}
        )
    assert r.status_code == 200, r.text
    creds = r.json()["credentials"]
    assert creds["username"] == "gw-0042"
    (entry,) = (tmp_path / "passwd").read_text().split()
    assert verify_password(creds["password"], entry.split(":", 1)[1])
    assert "user gw-0042" in (tmp_path / "acl").read_text()
    assert creds["password"] not in r.json()["gateway_config"]
