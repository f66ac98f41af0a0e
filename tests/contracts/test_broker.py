"""One broker-URL parser for edge and cloud; passwords never shown."""

from __future__ import annotations

import re

import pytest

from bohsense.contracts.broker import BrokerAddress, BrokerUrlError, parse_broker_url, redact


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://broker", BrokerAddress("broker", 1883)),
        ("mqtts://broker", BrokerAddress("broker", 8883, tls=True)),
        ("tcp://10.0.0.1:1884", BrokerAddress("10.0.0.1", 1884)),
        ("ssl://[::1]:8884", BrokerAddress("::1", 8884, tls=True)),
        ("mqtt://u%40x:p%3Aw@h:1", BrokerAddress("h", 1, username="u@x", password="p:w")),
    ],
)
def test_good_urls_parse(url: str, expected: BrokerAddress) -> None:
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize(
    ("url", "kwargs", "reason"),
    [
        ("http://h", {}, "must start with mqtt:// or mqtts://"),
        ("mqtt://", {}, "has no host"),
        ("mqtt://h:99999", {}, "out of range"),
        ("mqtt://u:hunter2-secret@h", {"allow_credentials": False}, "must not carry credentials"),
        ("mqtt://u:hunter2-secret@h/x", {}, "just scheme://host[:port]"),
        ("mqtt://h?x=1", {}, "just scheme://host[:port]"),
    ],
)
def test_bad_urls_are_refused_with_a_reason_and_no_password(
    url: str, kwargs: dict[str, bool], reason: str
) -> None:
    with pytest.raises(BrokerUrlError, match=re.escape(reason)) as err:
        parse_broker_url(url, **kwargs)
    assert "hunter2" not in str(err.value)


def test_redaction_and_repr_hide_the_password() -> None:
    assert redact("mqtt://cloud:hunter2@broker:1883") == "mqtt://cloud:***@broker:1883"
    assert redact("mqtt://broker:1883") == "mqtt://broker:1883"
    address = parse_broker_url("mqtts://cloud:hunter2@broker")
    assert "hunter2" not in repr(address)
    assert address.url == "mqtts://broker:8883"
