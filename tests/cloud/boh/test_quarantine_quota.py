"""The quarantine is bounded: large payloads are kept as a prefix with their size and hash,
each gateway has a quota, and listing never carries payload bodies."""

from __future__ import annotations

import hashlib

import pytest

from bohsense.cloud.boh import BohCore, NotFound
from bohsense.cloud.boh._quarantine import KEEP_BYTES
from bohsense.cloud.ports import QuarantineItem

from .factory import T0


def item(gateway: str, payload: bytes, reason: str = "malformed", i: int = 0) -> QuarantineItem:
    return QuarantineItem(f"bohsense/v1/gw/{gateway}/readings", payload, reason, f"item {i}", T0 + i, gateway)


def test_a_large_payload_is_kept_as_a_prefix_with_its_size_and_hash(db_url: str) -> None:
    core = BohCore(db_url)
    core.migrate()
    big = bytes(range(256)) * 8192  # 2 MiB
    assert core.quarantine([item("gw-a", big, "oversized")]) == 1
    (q,) = core.list_quarantine()
    assert (q.payload_size, q.payload_stored, q.payload_sha256) == (
        len(big),
        KEEP_BYTES,
        hashlib.sha256(big).hexdigest(),
    )
    assert q.payload_preview == big[:256]
    assert not hasattr(q, "payload"), "a listing carries no payload body"
    assert core.quarantine_payload(q.id) == big[:KEEP_BYTES]
    with pytest.raises(NotFound):
        core.quarantine_payload(q.id + 1000)
    core.close()


def test_an_apply_failed_batch_is_kept_whole_to_be_reapplied(db_url: str) -> None:
    core = BohCore(db_url)
    core.migrate()
    whole = b"\x85" + b"x" * (KEEP_BYTES * 3)
    core.quarantine([item("gw-a", whole, "apply-failed")])
    (q,) = core.list_quarantine()
    assert q.payload_stored == q.payload_size == len(whole)
    assert core.quarantine_payload(q.id) == whole
    core.close()


def test_each_gateway_has_a_quota_and_what_is_over_it_is_counted(db_url: str) -> None:
    core = BohCore(db_url, quarantine_quota=5)
    core.migrate()
    stored = core.quarantine([item("gw-a", b"junk", i=i) for i in range(8)] + [item("gw-b", b"junk")])
    assert stored == 6
    assert core.quarantine([item("gw-a", b"more")]) == 0
    assert core.quarantine([item("gw-a", b"valid but failed", "apply-failed")]) == 1, "data is never refused"
    counts = {g: len(core.list_quarantine(gateway=g)) for g in ("gw-a", "gw-b")}
    assert counts == {"gw-a": 6, "gw-b": 1}
    assert [q.detail for q in core.list_quarantine(gateway="gw-a", reason="malformed")][-1] == "item 0"
    core.close()


def test_text_with_nul_is_kept_readably(db_url: str) -> None:
    """PostgreSQL text cannot hold NUL; a reject's topic or detail may carry one."""
    core = BohCore(db_url)
    core.migrate()
    core.quarantine([QuarantineItem("weird/\x00topic", b"\x00", "topic", "bad \x00 detail", T0, "")])
    (q,) = core.list_quarantine()
    assert (q.topic, q.detail) == ("weird/\\x00topic", "bad \\x00 detail")
    assert core.quarantine_payload(q.id) == b"\x00"
    core.close()
