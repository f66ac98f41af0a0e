"""Every input of the API has a size: request bodies, command arguments, and a command
must fit one MQTT packet of the broker, or it is refused (413 / 422) before anything is
stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bohsense.cloud.api import create_app
from bohsense.cloud.boh import BohCore
from bohsense.contracts.schema import GatewayCommand

from .conftest import FakeTimeSeries

API = "/api/v1"


@pytest.fixture
def sent() -> list[GatewayCommand]:
    return []


@pytest.fixture
def limited(core: BohCore, tsdb: FakeTimeSeries, sent: list[GatewayCommand]) -> Iterator[TestClient]:
    app = create_app(
        core=core, tsdb=tsdb, send_command=sent.append, max_body_bytes=64 * 1024, command_max_bytes=2048
    )
    with TestClient(app) as c:
        yield c


def _gw(core: BohCore) -> str:
    return core.list_gateways()[0].id


def _nothing_stored(client: TestClient, core: BohCore, sent: list[GatewayCommand]) -> None:
    assert sent == []
    assert client.get(f"{API}/gateways/{_gw(core)}/commands").json() == []
    assert client.get(f"{API}/audit", params={"entity": "command"}).json() == []


def test_a_body_over_the_limit_is_refused_413_unread(
    limited: TestClient, core: BohCore, sent: list[GatewayCommand]
) -> None:
    body = b'{"command": "tare", "args": {"note": "' + b"x" * (65 * 1024) + b'"}}'
    r = limited.post(
        f"{API}/gateways/{_gw(core)}/commands", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json() == {
        "type": "https://bohsense.dev/problems/body-too-large",
        "title": "Body over the size limit",
        "status": 413,
        "detail": "request body over the limit of 65536 bytes",
        "instance": "/api/v1/gateways/gw-t1/commands",
        "errors": [],
    }
    _nothing_stored(limited, core, sent)


def test_a_chunked_body_over_the_limit_is_refused_413(
    limited: TestClient, core: BohCore, sent: list[GatewayCommand]
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"command": "tare", "args": {"note": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}}'

    r = limited.post(
        f"{API}/gateways/{_gw(core)}/commands", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert "over the limit of 65536 bytes" in r.json()["detail"]
    _nothing_stored(limited, core, sent)


def test_the_default_body_limit_is_one_mebibyte(core: BohCore, tsdb: FakeTimeSeries) -> None:
    with TestClient(create_app(core=core, tsdb=tsdb)) as c:
        r = c.post(
            f"{API}/alerts/1/resolve",
            content=b" " * (1024 * 1024 + 1),
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 413
        assert "1048576 bytes" in r.json()["detail"]


@pytest.mark.parametrize(
    ("args", "loc"),
    [
        ({f"k{i}": i for i in range(33)}, ["body", "args"]),  # more than 32 arguments
        ({"k" * 65: 1}, ["body", "args", "k" * 65, "[key]"]),
        ({"": 1}, ["body", "args", "", "[key]"]),
        ({"note": "x" * 1025}, ["body", "args", "note", "constrained-str"]),
        ({"n": 2**63}, ["body", "args"]),
        ({"n": -(2**63) - 1}, ["body", "args"]),
    ],
)
def test_command_arguments_are_bounded(
    limited: TestClient, core: BohCore, sent: list[GatewayCommand], args: dict[str, object], loc: list[str]
) -> None:
    r = limited.post(f"{API}/gateways/{_gw(core)}/commands", json={"command": "tare", "args": args})
    assert r.status_code == 422, r.text
    assert loc in [e["loc"] for e in r.json()["errors"]]
    _nothing_stored(limited, core, sent)


def test_a_non_finite_argument_is_refused(
    limited: TestClient, core: BohCore, sent: list[GatewayCommand]
) -> None:
    body = b'{"command": "tare", "args": {"x": NaN}}'
    r = limited.post(
        f"{API}/gateways/{_gw(core)}/commands", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    _nothing_stored(limited, core, sent)


def test_a_command_that_cannot_be_one_packet_is_refused_before_it_is_stored(
    limited: TestClient, core: BohCore, sent: list[GatewayCommand]
) -> None:
    args = {f"note{i}": "x" * 1000 for i in range(3)}  # within every argument bound, 3 kB in all
    r = limited.post(f"{API}/gateways/{_gw(core)}/commands", json={"command": "tare", "args": args})
    assert r.status_code == 422, r.text
    assert "exceeds the 2048-byte limit of one MQTT packet" in r.json()["detail"]
    _nothing_stored(limited, core, sent)
    # just under the limit: accepted and sent
    r = limited.post(
        f"{API}/gateways/{_gw(core)}/commands", json={"command": "tare", "args": {"note": "x" * 1000}}
    )
    assert r.status_code == 202, r.text
    assert len(sent) == 1


def test_the_largest_arguments_fit_the_default_packet_limit(core: BohCore, tsdb: FakeTimeSeries) -> None:
    sent: list[GatewayCommand] = []
    with TestClient(create_app(core=core, tsdb=tsdb, send_command=sent.append)) as c:
        args = {f"{i:064d}": "x" * 1024 for i in range(32)}
        r = c.post(f"{API}/gateways/{_gw(core)}/commands", json={"command": "c" * 128, "args": args})
        assert r.status_code == 202, r.text
    assert len(sent) == 1


def test_an_integer_beyond_64_bits_is_named_not_rounded(
    limited: TestClient, core: BohCore, sent: list[GatewayCommand]
) -> None:
    r = limited.post(f"{API}/gateways/{_gw(core)}/commands", json={"command": "tare", "args": {"n": 2**63}})
    assert r.status_code == 422
    assert f"argument 'n': {2**63} is not a 64-bit integer" in r.json()["detail"]
    _nothing_stored(limited, core, sent)


def test_the_apis_argument_bounds_are_the_contracts(client: TestClient) -> None:
    import msgspec

    contract = msgspec.json.schema(GatewayCommand)["$defs"]["GatewayCommand"]["properties"]["args"]
    doc = client.get("/openapi.json").json()
    api = doc["components"]["schemas"]["CommandIn"]["properties"]["args"]
    assert api["maxProperties"] == contract["maxProperties"]
    assert (api["propertyNames"]["minLength"], api["propertyNames"]["maxLength"]) == (
        contract["propertyNames"]["minLength"],
        contract["propertyNames"]["maxLength"],
    )
    (c_str, c_int, *_) = contract["additionalProperties"]["anyOf"]
    a_str, a_int = (
        next(s for s in api["additionalProperties"]["anyOf"] if s["type"] == kind)
        for kind in ("string", "integer")
    )
    assert a_str["maxLength"] == c_str["maxLength"]
    assert (a_int["minimum"], a_int["maximum"]) == (c_int["minimum"], c_int["maximum"])
