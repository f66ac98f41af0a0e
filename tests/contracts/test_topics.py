"""The v1 topic tree."""

from __future__ import annotations

import pytest

from bohsense.contracts import topics
from bohsense.contracts.timeutil import EARLIEST_VALID_NS, check_event_time


def test_topics_are_built_and_parsed_back() -> None:
    for build, kind in [
        (topics.readings_topic, "readings"),
        (topics.status_topic, "status"),
        (topics.ack_topic, "ack"),
        (topics.cmd_topic, "cmd"),
        (topics.result_topic, "result"),
    ]:
        t = build("store-9.gw_1")
        assert t.startswith("bohsense/v1/gw/")
        assert topics.parse_topic(t) == ("store-9.gw_1", kind)


@pytest.mark.parametrize("gateway", ["", "a/b", "+", "#", "-lead", "x" * 65, "sp ace"])
def test_bad_gateway_ids_are_refused(gateway: str) -> None:
    with pytest.raises(topics.TopicError):
        topics.readings_topic(gateway)


@pytest.mark.parametrize(
    "topic",
    [
        "bohsense/v1/gw/g/other",
        "bohsense/v2/gw/g/readings",
        "bohsense/v1/gw/g/readings/x",
        "x",
        "bohsense/v1/gw//readings",
    ],
)
def test_foreign_topics_do_not_parse(topic: str) -> None:
    with pytest.raises(topics.TopicError):
        topics.parse_topic(topic)


def test_shared_subscription_form() -> None:
    assert topics.shared("ingest", topics.ALL_READINGS) == "$share/ingest/bohsense/v1/gw/+/readings"


def test_event_time_checks() -> None:
    now = 1_790_000_000 * 10**9
    assert check_event_time(now, now, 300 * 10**9) is None
    assert "before 2000" in (check_event_time(EARLIEST_VALID_NS - 1, now, 10**9) or "")
    assert "future" in (check_event_time(now + 301 * 10**9, now, 300 * 10**9) or "")


def test_a_stores_alert_topic_is_outside_every_gateways_tree() -> None:
    assert topics.site_alert_topic("store-0042") == "bohsense/v1/site/store-0042/alert"
    assert topics.ALL_SITE_ALERTS == "bohsense/v1/site/+/alert"
    with pytest.raises(topics.TopicError):
        topics.parse_topic("bohsense/v1/site/store-0042/alert")  # not a gateway's
    for bad in ("", "a/b", "+", "#"):
        with pytest.raises(topics.TopicError):
            topics.site_alert_topic(bad)
    (channel,) = topics.SITE_CHANNELS
    assert (channel.qos, channel.retained) == (1, False)
