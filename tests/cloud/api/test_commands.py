"""Gateway commands over the API: recorded, sent, settled by the gateway's result; a
command that cannot be sent is recorded as failed and answered 503."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.api import create_app
from bohsense.cloud.boh import BohCore
from bohsense.contracts.schema import CommandResult, GatewayCommand
from bohsense.contracts.timeutil import now_ns
from tests.cloud.api.conftest import FakeTimeSeries

API = "/api/v1"


@pytest.fixture
def sent() -> list[GatewayCommand]:
    return []


@pytest.fixture
def client_with_broker(
    core: BohCore, tsdb: FakeTimeSeries, sent: list[GatewayCommand]
) -> Iterator[TestClient]:
    with TestClient(create_app(core=core, tsdb=tsdb, send_command=sent.append)) as c:
        yield c


def _gateway(core: BohCore) -> str:
    return core.list_gateways()[0].id


def test_a_command_is_sent_and_settled_by_the_gateways_result(
    client_with_broker: TestClient, core: BohCore, sent: list[GatewayCommand]
) -> None:
    gw = _gateway(core)
    r = client_with_broker.post(
        f"{API}/gateways/{gw}/commands", json={"command": "tare", "args": {"device": "shelf", "lane": 2}}
    )
    assert r.status_code == 202, r.text
    cmd = r.json()
    assert cmd["state"] == "sent"
    assert [(c.gateway, c.command, c.id, dict(c.args)) for c in sent] == [
        (gw, "tare", cmd["id"], {"device": "shelf", "lane": 2})
    ]

    core.record_command_result(
        CommandResult(
            gateway=gw,
            id=cmd["id"],
            command="tare",
            ok=False,
            ts=now_ns(),
            reason="device-refused",
            detail="busy",
        )
    )
    core.record_command_result(
        CommandResult(gateway=gw, id=cmd["id"], command="tare", ok=True, ts=now_ns())
    )  # a late repeat
    got = client_with_broker.get(f"{API}/commands/{cmd['id']}").json()
    assert (got["state"], got["reason"], got["detail"]) == ("failed", "device-refused", "busy"), (
        "settled once"
    )
    listed = client_with_broker.get(f"{API}/gateways/{gw}/commands").json()
    assert [c["id"] for c in listed] == [cmd["id"]]
    audit = client_with_broker.get(
        f"{API}/audit", params={"entity": "command", "entity_id": cmd["id"]}
    ).json()
    assert [(a["from_state"], a["to_state"]) for a in audit] == [(None, "sent"), ("sent", "failed")]


def test_without_a_broker_the_command_is_failed_and_answered_503(client: TestClient, core: BohCore) -> None:
    gw = _gateway(core)
    r = client.post(f"{API}/gateways/{gw}/commands", json={"command": "ping"})
    assert r.status_code == 503
    assert "not sent" in r.json()["detail"]
    (cmd,) = client.get(f"{API}/gateways/{gw}/commands").json()
    assert (cmd["state"], cmd["reason"]) == ("failed", "not-sent")


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/gateways/no-such-gw/commands", {"command": "ping"}, 404),
        ("/gateways/{gw}/commands", {"command": ""}, 422),
        ("/gateways/{gw}/commands", {"command": "tare", "args": {"lane": [1, 2]}}, 422),
        ("/gateways/{gw}/commands", {"args": {}}, 422),
    ],
)
def test_bad_command_requests_are_refused(
    client_with_broker: TestClient,
    core: BohCore,
    sent: list[GatewayCommand],
    path: str,
    body: dict[str, object],
    code: int,
) -> None:
    r = client_with_broker.post(API + path.format(gw=_gateway(core)), json=body)
    assert r.status_code == code, r.text
    assert sent == []


def test_an_unknown_command_id_is_404(client: TestClient) -> None:
    assert client.get(f"{API}/commands/nope").status_code == 404
