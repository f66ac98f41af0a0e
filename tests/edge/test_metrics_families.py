"""The gateway's exposition: one family per name, sums left to PromQL, the outbox's age."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bohsense.edge.metrics import registry_for


def test_reasons_are_one_labelled_family_and_the_outbox_age_is_a_gauge() -> None:
    counters = {
        "readings_in": 10,
        "rejected_readings": 3,  # the agent's sum of the reasons below
        "rejected.reading.not_finite": 2,
        "rejected.reading.too_old": 1,
        "rejected_events": 0,
        "outbox_depth": 4,
        "outbox_oldest_age_s": 17,
    }
    text = generate_latest(registry_for(lambda: counters)).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert text.count("# TYPE bohsense_edge_rejected_readings") == 1  # not also the agent's sum
    rejected = families["bohsense_edge_rejected_readings"]
    by_reason = {s.labels["reason"]: s.value for s in rejected.samples if s.name.endswith("_total")}
    assert by_reason == {"not_finite": 2.0, "too_old": 1.0}
    age = families["bohsense_edge_outbox_oldest_age_s"]
    assert age.type == "gauge"
    assert age.samples[0].value == 17.0
