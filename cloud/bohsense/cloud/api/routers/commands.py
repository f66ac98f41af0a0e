"""POST /gateways/{id}/commands, GET /gateways/{id}/commands, GET /commands/{id}.

A command is recorded (state ``sent``), then published to the gateway's ``…/cmd`` topic;
the gateway answers on ``…/result`` and ingest settles it (``succeeded`` / ``failed``
with the gateway's reason). The POST answers 202 at once: poll the command for its
outcome. With no broker connection it answers 503 and the command is ``failed`` with
reason ``not-sent``.

Arguments are bounded (at most 32, names of 1-64 characters, strings up to 1024, 64-bit
integers, finite numbers), and the encoded command must fit one MQTT packet
(``command_max_bytes``, at most the broker's ``max_packet_size``): a command the broker
would refuse (and drop the cloud's connection over) is answered 422 before anything is
stored. The encoded command is checked against the contract too, by decoding it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import ConfigDict, Field, StringConstraints, field_validator

from bohsense.contracts.codec import PayloadError, decode_command, encode
from bohsense.contracts.schema import INT64_MAX, MAX_COMMAND_ARGS, GatewayCommand
from bohsense.contracts.timeutil import now_ns
from bohsense.contracts.topics import cmd_topic

from ...boh import NotFound
from .._common import ApiModel, GatewayName, Name, RequestModel, enum_field
from .._deps import CoreDep
from .._errors import Error
from .._identity import Principal, PrincipalDep
from .._paging import PageDep
from .._scoping import visible

router = APIRouter(tags=["commands"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such gateway or command"},
    422: {"model": Error, "description": "invalid, or too large for one MQTT packet: nothing is stored"},
    503: {"description": "not connected to the broker: the command was not sent"},
}


#: the contract's argument bounds (``bohsense.contracts.schema``; a test keeps them equal)
ArgName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ArgValue = (
    Annotated[str, StringConstraints(max_length=1024)]
    | Annotated[int, Field(ge=-INT64_MAX - 1, le=INT64_MAX)]
    | Annotated[float, Field(allow_inf_nan=False)]
    | bool
)
#: an id as ``create_command`` makes them (uuid4 hex), to size a command before it has one
_ID_PLACEHOLDER = "0" * 32


class CommandIn(RequestModel):
    command: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:/\-]+$")]
    args: Annotated[dict[ArgName, ArgValue], Field(default_factory=dict, max_length=MAX_COMMAND_ARGS)]

    @field_validator("args", mode="before")
    @classmethod
    def _int64(cls, value: Any) -> Any:
        # an integer beyond 64 bits would otherwise pass as a float and lose its digits
        if isinstance(value, dict):
            for key, v in value.items():
                if isinstance(v, int) and not isinstance(v, bool) and not -INT64_MAX - 1 <= v <= INT64_MAX:
                    raise ValueError(f"argument {key!r}: {v} is not a 64-bit integer")
        return value


def packet_bytes(topic: str, payload: bytes) -> int:
    """An upper bound of the MQTT 5 PUBLISH packet carrying ``payload`` on ``topic`` at QoS 1:
    fixed header (1 + up to 4 length bytes), topic (2 + UTF-8), packet id (2), properties
    (the length byte, and room for a topic alias)."""
    return 5 + 2 + len(topic.encode()) + 2 + 4 + len(payload)


def _publishable(request: Request, gateway_id: str, body: CommandIn) -> None:
    """Refuse (422) a command the contract or the broker would not take, before it is stored."""
    draft = GatewayCommand(
        gateway=gateway_id, command=body.command, id=_ID_PLACEHOLDER, ts=now_ns(), args=body.args
    )
    payload = encode(draft)
    try:
        decode_command(payload)
    except PayloadError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"the command breaks the contract: {exc.detail}"
        ) from exc
    limit: int = request.app.state.command_max_bytes
    size = packet_bytes(cmd_topic(gateway_id), payload)
    if size > limit:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"the command is {size} bytes as an MQTT packet, which exceeds the {limit}-byte limit of one"
            " MQTT packet: send fewer or shorter arguments",
        )


class Command(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    gateway: str
    command: str
    args: dict[str, Any]
    state: str = enum_field(("sent", "succeeded", "failed", "expired"), "where the command is")
    reason: str
    detail: str
    actor: str
    created_ns: int
    updated_ns: int


@router.post(
    "/gateways/{gateway_id}/commands",
    response_model=Command,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ERRORS,
)
def send_command(
    core: CoreDep, principal: PrincipalDep, request: Request, gateway_id: GatewayName, body: CommandIn
) -> Command:
    send = request.app.state.send_command
    _gateway(core, principal, gateway_id)
    _publishable(request, gateway_id, body)
    record = core.create_command(gateway_id, body.command, body.args, actor=principal.actor)
    try:
        if send is None:
            raise RuntimeError("this API has no broker connection to send commands with")
        send(
            GatewayCommand(
                gateway=gateway_id, command=body.command, id=record.id, ts=now_ns(), args=body.args
            )
        )
    except Exception as exc:  # recorded as failed, answered 503 with the reason
        core.fail_command(record.id, "not-sent", str(exc), actor=principal.actor)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"command {record.id} not sent: {exc}"
        ) from exc
    return Command.model_validate(record)


@router.get("/gateways/{gateway_id}/commands", response_model=list[Command])
def list_commands(
    core: CoreDep, principal: PrincipalDep, page: PageDep, gateway_id: GatewayName
) -> list[Command]:
    _gateway(core, principal, gateway_id)
    return [Command.model_validate(c) for c in page.cut(core.list_commands(gateway_id, **page.seek))]


@router.get("/commands/{command_id}", response_model=Command, responses=ERRORS)
def get_command(core: CoreDep, principal: PrincipalDep, command_id: Name) -> Command:
    found = core.get_command(command_id)
    if principal.scoped:
        site = _site_of(core, found.gateway)
        visible(principal, site, "command", command_id, found)
    return Command.model_validate(found)


def _site_of(core: CoreDep, gateway_id: str) -> str | None:
    try:
        return core.get_gateway(gateway_id).site
    except NotFound:
        return None


def _gateway(core: CoreDep, principal: Principal, gateway_id: str) -> None:
    """A gateway of another store is not found, as an unknown one is (404)."""
    if principal.scoped and not principal.sees(_site_of(core, gateway_id)):
        raise NotFound("gateway", gateway_id)
