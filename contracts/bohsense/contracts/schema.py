"""Payload schemas, version 1: frozen msgspec structs shared by edge, cloud and simulators.

Units and conventions:
- every time is an integer count of nanoseconds since the Unix epoch, UTC;
- ``ts`` is the device's event time (when the thing happened), never arrival time;
- ``seq`` is the gateway's sequence number: it starts at 1, grows by one for every
  batch the gateway ever creates, and survives restarts (it lives in the outbox);
- a reading is ``(device, metric, ts, value)``; the metric names a quantity with its
  unit in the name (``temp_c``, ``vib_rms_mm_s``, ``weight_g``, ``units``).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

__all__ = [
    "ALERT_NOTICE_EVENTS",
    "MAX_EVENTS_PER_BATCH",
    "MAX_PAYLOAD_BYTES",
    "MAX_READINGS_PER_BATCH",
    "SCHEMA_VERSION",
    "AlertNotice",
    "CloudAck",
    "CommandResult",
    "GatewayCommand",
    "GatewayStatus",
    "Reading",
    "ReadingBatch",
    "WireEvent",
]

SCHEMA_VERSION = 1
MAX_READINGS_PER_BATCH = 10_000
MAX_EVENTS_PER_BATCH = 10_000
MAX_PAYLOAD_BYTES = 1_048_576

#: device and metric names: 1-128 of letters, digits and ``_ . : / -``
NAME_PATTERN = r"^[A-Za-z0-9_.:/\-]{1,128}$"
_NAME_RE = re.compile(NAME_PATTERN)
_valid_names: set[str] = set()
_VALID_NAMES_MAX = 100_000


def valid_name(name: str) -> bool:
    """Whether ``name`` is a valid device or metric name.

    Names repeat endlessly (a fleet has a few thousand series), so valid ones are
    remembered: a batch pays a set lookup per name instead of a pattern match.
    """
    if name in _valid_names:
        return True
    if not _NAME_RE.match(name):
        return False
    if len(_valid_names) >= _VALID_NAMES_MAX:
        _valid_names.clear()
    _valid_names.add(name)
    return True


# The pattern is checked by ``codec`` through ``valid_name`` (cached) rather than by
# msgspec on every string of every reading; it is still published in the JSON schema.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=128, extra_json_schema={"pattern": NAME_PATTERN})]
GatewayId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
]
INT64_MAX = 2**63 - 1
Nanos = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
Seq = Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)]
#: a count kept in a BIGINT column (``dropped``, ``outbox_depth``, ``next_seq``, ``upto``)
Count = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
#: a reading's event time: any integer decodes, so that an impossible one (before 2000,
#: far in the future, negative, beyond 64 bits) rejects that reading alone and not its
#: batch (the cloud checks it per reading); what a gateway may send is published as the range
ReadingTime = Annotated[int, msgspec.Meta(extra_json_schema={"minimum": 0, "maximum": INT64_MAX})]
#: text a database column can hold: no NUL character (PostgreSQL text refuses it)
NO_NUL = r"^[^\x00]*$"
#: a site id (the ``sites`` table's key)
SiteId = Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)]
#: a short free text kept in a 64-character column (a software version, a reason)
Short = Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)]
#: an id chosen by the cloud (a command's)
CommandId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=NO_NUL)]
#: command arguments: a few named scalars, each within what a JSON column and a person can use
ArgName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=NO_NUL)]
ArgValue = (
    Annotated[str, msgspec.Meta(max_length=1024, pattern=NO_NUL)]
    | Annotated[int, msgspec.Meta(ge=-INT64_MAX - 1, le=INT64_MAX)]
    | float
    | bool
)
MAX_COMMAND_ARGS = 32


class Reading(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """One measured value of one device at one event time.

    Encoded as a 4-element array ``[device, metric, ts, value]`` to keep batches small.
    """

    device: Name
    metric: Name
    ts: ReadingTime
    value: float


#: event kind names: dotted lower-case words, ``shelf.pick``
KIND_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
KindName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=KIND_PATTERN)]


class WireEvent(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """An event as it travels: ``[device, kind, ts, attrs]``, ``attrs`` still undecoded.

    ``attrs`` is decoded by kind (``contracts.events.decode_event``) only after the
    envelope, so an event of a kind the cloud does not know, or with bad attributes, is
    refused on its own and the rest of its batch is kept. ``ts`` is checked per event,
    like a reading's (``ReadingTime``).
    """

    device: Name
    kind: KindName
    ts: ReadingTime
    attrs: msgspec.Raw


class ReadingBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Readings and events of one gateway, published as one MQTT message on ``…/readings``.

    Everything in a batch shares its one ``(gateway, seq)``: exactly-once, the outbox,
    ``CloudAck`` and ``floor`` apply to its readings and its events alike. A batch from a
    gateway carries at least one reading or one event (``codec.decode_batch`` refuses an
    empty one); the cloud itself builds empty ones to settle a refused seq.

    Versioning (additive, still ``v: 1``): ``events`` and ``urgent`` were added after the
    first release and are left out of the encoding when empty / false (``omit_defaults``),
    so a batch of readings only is a valid batch for a cloud that predates them. The cloud
    decodes with ``forbid_unknown_fields``, so the rollout order is: clouds first, then
    gateways (a gateway that sends events to an older cloud has those batches
    quarantined as ``schema``). ``urgent`` marks a batch that carries an urgent event
    (a local alarm): after an outage the gateway sends urgent batches before its backlog.

    ``floor`` is the lowest sequence number the gateway still holds in its outbox when it
    sends this batch: it will never send anything below ``floor`` again (those batches
    were acknowledged by the cloud, or dropped by the outbox's overflow policy and
    counted in ``GatewayStatus.dropped``). The cloud uses it to move its per-gateway
    watermark past gaps that will never fill. The batch itself is in the outbox, so
    ``floor <= seq`` (0 when the gateway declares nothing); a larger one is refused.
    """

    gateway: GatewayId
    seq: Seq
    sent: Nanos
    readings: Annotated[list[Reading], msgspec.Meta(max_length=MAX_READINGS_PER_BATCH)]
    floor: Count = 0
    site: SiteId = ""
    v: Literal[1] = 1
    events: Annotated[list[WireEvent], msgspec.Meta(max_length=MAX_EVENTS_PER_BATCH)] = []
    urgent: bool = False

    def __post_init__(self) -> None:
        if self.floor > self.seq:
            raise ValueError(f"floor {self.floor} is above the batch's own seq {self.seq} - at `$.floor`")


class GatewayStatus(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Birth (``online``), clean goodbye (``offline``) and last will (``lost``) of a gateway.

    ``dropped`` counts readings lost for certain since the gateway was installed: the
    outbox discarded them (overflow policy, age limit) before they were ever sent, so the
    cloud can tell an accounted gap from a loss. ``dropped_in_doubt`` counts readings the
    outbox discarded after sending them, unacknowledged: the broker had accepted them and
    delivers them unless it loses them itself (0 from a gateway that predates the field).

    ``epoch`` names the MQTT connection the status belongs to: the gateway's time in ns
    when it opened that connection, strictly increasing per gateway (the edge keeps the
    last one in its outbox, so a clock stepped back does not reuse one). The will of a
    connection is built just before it is opened, so its ``ts`` is older than the birth
    sent after CONNACK; ordering by ``epoch`` first, then ``online`` before
    ``offline``/``lost``, then ``ts`` makes the end of a connection win over its own
    birth, and a stale will of an older connection lose to the birth of a newer one.
    0 means a gateway that predates the field: such statuses are ordered by ``ts``.
    """

    gateway: GatewayId
    state: Literal["online", "offline", "lost"]
    ts: Nanos
    site: SiteId = ""
    version: Short = ""
    next_seq: Count = 0
    outbox_depth: Count = 0
    dropped: Count = 0
    dropped_in_doubt: Count = 0
    epoch: Nanos = 0
    v: Literal[1] = 1


class CloudAck(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The cloud has durably applied every batch of ``gateway`` with ``seq <= upto``.

    The edge deletes outbox entries up to here; anything published but not yet covered
    by an ack is published again after a reconnect (the cloud drops it as a duplicate).
    """

    gateway: GatewayId
    upto: Count
    ts: Nanos
    v: Literal[1] = 1


class GatewayCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A command for a gateway (``reload-config``, ``tare``, ``set-rate``…) with arguments."""

    gateway: GatewayId
    command: Name
    id: CommandId
    ts: Nanos
    args: Annotated[dict[ArgName, ArgValue], msgspec.Meta(max_length=MAX_COMMAND_ARGS)] = {}
    v: Literal[1] = 1


class CommandResult(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What became of the command ``id``: carried out (``ok``) or refused, with the reason.

    ``reason`` is short and sortable (``unknown-command``, ``unknown-device``,
    ``not-supported``, ``device-refused``, ``device-unavailable``, ``bad-argument``);
    ``detail`` is for a person.
    """

    gateway: GatewayId
    id: CommandId
    command: Annotated[str, msgspec.Meta(max_length=128, pattern=NO_NUL)]
    ok: bool
    ts: Nanos
    reason: Short = ""
    detail: Annotated[str, msgspec.Meta(max_length=1024, pattern=NO_NUL)] = ""
    v: Literal[1] = 1


#: what happened to the alert of an ``AlertNotice``
ALERT_NOTICE_EVENTS = ("opened", "reopened", "occurred", "diagnosed", "escalated", "acknowledged", "resolved")


class AlertNotice(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An alert for technicians, published by the cloud after the change committed.

    One notice per change of the alert (``event``): opened, reopened (a recurrence within
    the reopen window after it was resolved), occurred (the fault confirmed again while
    open: ``occurrences`` counts it), diagnosed (a diagnosis named the fault type after
    the alert opened: ``condition`` is the diagnosed class), escalated (unacknowledged too long: a higher
    ``severity`` and the next recipient in ``recipients``), acknowledged, resolved. Notices
    are delivered at least once: a consumer keeps the one with the highest ``ts`` per
    ``alert_id``. ``asset_id`` is null for a gateway's or device's alert (``subject``).
    """

    alert_id: Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)]
    event: Literal["opened", "reopened", "occurred", "diagnosed", "escalated", "acknowledged", "resolved"]
    site: SiteId
    gateway: GatewayId
    asset_id: Annotated[str, msgspec.Meta(max_length=64)] | None
    subject: Annotated[str, msgspec.Meta(max_length=200)]
    condition: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    #: info / warning / major / critical (a catalog may name its own)
    severity: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
    state: Literal["open", "acknowledged", "resolved"]
    occurrences: Count
    escalation_level: Count
    recipients: Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=32)]
    model: Annotated[str, msgspec.Meta(max_length=128)]
    opened_ns: Nanos
    work_order_id: Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)] | None
    summary: Annotated[str, msgspec.Meta(max_length=2000)]
    actor: Annotated[str, msgspec.Meta(max_length=64)]
    ts: Nanos
    v: Literal[1] = 1
