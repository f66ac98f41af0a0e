"""Every integer and string of every v1 message has a bound its database column can hold.

An unbounded integer (a ``floor`` or ``dropped`` of 2^63) or string (a ``version`` of a
kilobyte) decodes fine and then fails in the database, where it is taken for a failing
database. The bounds live in the contract, so such a message is refused at decoding.
"""

from __future__ import annotations

import msgspec
import pytest

from bohsense.contracts import (
    CloudAck,
    CommandResult,
    GatewayCommand,
    GatewayStatus,
    PayloadError,
    Reading,
    ReadingBatch,
    decode_batch,
    decode_status,
    encode,
)
from bohsense.contracts.codec import Encoding, decode_ack, decode_command, decode_result

INT64_MAX = 2**63 - 1
MESSAGES = [Reading, ReadingBatch, GatewayStatus, CloudAck, GatewayCommand, CommandResult]
T0 = 1_790_000_000_000_000_000


def _leaves(t: msgspec.inspect.Type, where: str) -> list[tuple[str, msgspec.inspect.Type]]:
    """The scalar types inside ``t`` (through lists, dicts and unions)."""
    if isinstance(t, msgspec.inspect.UnionType):
        return [leaf for i, u in enumerate(t.types) for leaf in _leaves(u, f"{where}|{i}")]
    if isinstance(t, msgspec.inspect.ListType):
        return _leaves(t.item_type, f"{where}[]")
    if isinstance(t, msgspec.inspect.DictType):
        return [*_leaves(t.key_type, f"{where}{{key}}"), *_leaves(t.value_type, f"{where}{{value}}")]
    return [(where, t)]


def _bounded_fields() -> list[tuple[str, msgspec.inspect.Type]]:
    out = []
    for kind in MESSAGES:
        info = msgspec.inspect.type_info(kind)
        assert isinstance(info, msgspec.inspect.StructType)
        for f in info.fields:
            if kind is Reading and f.name == "ts":
                continue  # checked per reading by the cloud (an impossible time rejects one reading)
            out.extend(_leaves(f.type, f"{kind.__name__}.{f.name}"))
    return out


@pytest.mark.parametrize(("where", "t"), _bounded_fields(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_integer_and_string_is_bounded(where: str, t: msgspec.inspect.Type) -> None:
    if isinstance(t, msgspec.inspect.IntType):
        lo = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else None)
        hi = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else None)
        assert lo is not None, f"{where}: integer without a lower bound"
        assert hi is not None, f"{where}: integer without an upper bound"
        assert lo >= -INT64_MAX - 1, f"{where}: {lo} does not fit a BIGINT"
        assert hi <= INT64_MAX, f"{where}: {hi} does not fit a BIGINT"
    elif isinstance(t, msgspec.inspect.StrType):
        assert t.max_length is not None, f"{where}: string without a maximum length"
        assert t.max_length <= 1024, f"{where}: {t.max_length} characters"
    elif isinstance(t, msgspec.inspect.ListType | msgspec.inspect.DictType):
        raise AssertionError(f"{where}: nested container")


def test_dict_arguments_are_bounded_in_count() -> None:
    info = msgspec.inspect.type_info(GatewayCommand)
    assert isinstance(info, msgspec.inspect.StructType)
    (args,) = [f for f in info.fields if f.name == "args"]
    assert isinstance(args.type, msgspec.inspect.DictType)
    assert args.type.max_length is not None


def _json(fields: dict[str, object]) -> bytes:
    return msgspec.json.encode(fields)


@pytest.mark.parametrize(
    ("field", "value"),
    [("dropped", 2**63), ("next_seq", 2**63), ("outbox_depth", 2**63), ("dropped", -1), ("version", "v" * 65), ("site", "s" * 65)],
)  # fmt: skip
def test_a_status_beyond_its_columns_is_refused(field: str, value: object) -> None:
    fields: dict[str, object] = {"gateway": "gw-1", "state": "online", "ts": T0, field: value}
    with pytest.raises(PayloadError) as exc:
        decode_status(_json(fields))
    assert exc.value.reason == "schema"
    assert field in exc.value.detail


def test_the_largest_status_within_its_columns_is_accepted() -> None:
    s = GatewayStatus(
        gateway="g" * 64, state="online", ts=T0, site="s" * 64, version="v" * 64,
        next_seq=INT64_MAX, outbox_depth=INT64_MAX, dropped=INT64_MAX,
    )  # fmt: skip
    for enc in Encoding:
        assert decode_status(encode(s, enc)) == s


def _batch(**over: object) -> dict[str, object]:
    fields: dict[str, object] = {"gateway": "gw-1", "seq": 5, "sent": T0, "readings": [["d", "m", T0, 1.0]]}
    fields.update(over)
    return fields


@pytest.mark.parametrize("floor", [2**63, 2**64 - 1, 6, -1])
def test_a_batch_floor_above_its_seq_or_int64_is_refused(floor: int) -> None:
    with pytest.raises(PayloadError) as exc:
        decode_batch(_json(_batch(floor=floor)))
    assert exc.value.reason == "schema"
    assert "floor" in exc.value.detail


def test_a_floor_equal_to_its_seq_is_accepted() -> None:
    assert decode_batch(_json(_batch(floor=5))).floor == 5


@pytest.mark.parametrize(
    ("decode", "fields"),
    [
        (decode_ack, {"gateway": "gw-1", "upto": 2**63, "ts": T0}),
        (decode_result, {"gateway": "gw-1", "id": "c1", "command": "tare", "ok": True, "ts": 2**63}),
        (decode_command, {"gateway": "gw-1", "id": "c1", "command": "tare", "ts": T0, "args": {"n": 2**63}}),
        (decode_command, {"gateway": "gw-1", "id": "c1", "command": "tare", "ts": T0, "args": {"k" * 65: 1}}),
        (
            decode_command,
            {"gateway": "gw-1", "id": "c1", "command": "tare", "ts": T0, "args": {"s": "x" * 1025}},
        ),
    ],
)
def test_acks_results_and_commands_beyond_int64_or_their_lengths_are_refused(
    decode: object, fields: dict[str, object]
) -> None:
    with pytest.raises(PayloadError) as exc:
        decode(_json(fields))  # type: ignore[operator]
    assert exc.value.reason == "schema"


@pytest.mark.parametrize(
    ("decode", "fields"),
    [
        (decode_status, {"gateway": "gw-1", "state": "online", "ts": T0, "version": "1.0\x00"}),
        (decode_status, {"gateway": "gw-1", "state": "online", "ts": T0, "site": "\x00"}),
        (decode_result, {"gateway": "gw-1", "id": "c\x001", "command": "tare", "ok": True, "ts": T0}),
        (decode_result, {"gateway": "gw-1", "id": "c1", "command": "tare", "ok": False, "ts": T0, "detail": "a\x00"}),
        (decode_batch, {"gateway": "gw-1", "seq": 1, "sent": T0, "readings": [["d", "m", T0, 1.0]], "site": "s\x00"}),
    ],
)  # fmt: skip
def test_text_a_database_cannot_hold_is_refused(decode: object, fields: dict[str, object]) -> None:
    """PostgreSQL text cannot contain NUL: such a string is refused by the contract."""
    with pytest.raises(PayloadError) as exc:
        decode(_json(fields))  # type: ignore[operator]
    assert exc.value.reason == "schema"
