"""POST /gateways/{id}/commands, GET /gateways/{id}/commands, GET /commands/{id}.

A command is recorded (state ``sent``), then published to the gateway's ``…/cmd`` topic;
the gateway answers on ``…/result`` and ingest settles it (``succeeded`` / ``failed``
with the gateway's reason). The POST answers 202 at once: poll the command for its
outcome. With no broker connection it answers 503 and the command is ``failed`` with
reason ``not-sent``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from bohsense.contracts.schema import GatewayCommand
from bohsense.contracts.timeutil import now_ns

from .._common import Limit, Offset, RequestModel
from .._deps import CoreDep

router = APIRouter(tags=["commands"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such gateway or command"},
    503: {"description": "not connected to the broker: the command was not sent"},
}


class CommandIn(RequestModel):
    command: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:/\-]+$")]
    args: dict[str, str | int | float | bool] = Field(default_factory=dict)
    actor: Annotated[str, Field(min_length=1, max_length=64)] = "api"


class Command(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    gateway: str
    command: str
    args: dict[str, Any]
    state: str
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
def send_command(core: CoreDep, request: Request, gateway_id: str, body: CommandIn) -> Command:
    send = request.app.state.send_command
    record = core.create_command(gateway_id, body.command, body.args, actor=body.actor)
    try:
        if send is None:
            raise RuntimeError("this API has no broker connection to send commands with")
        send(
            GatewayCommand(
                gateway=gateway_id, command=body.command, id=record.id, ts=now_ns(), args=body.args
            )
        )
    except Exception as exc:  # recorded as failed, answered 503 with the reason
        core.fail_command(record.id, "not-sent", str(exc), actor=body.actor)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"command {record.id} not sent: {exc}"
        ) from exc
    return Command.model_validate(record)


@router.get("/gateways/{gateway_id}/commands", response_model=list[Command])
def list_commands(core: CoreDep, gateway_id: str, limit: Limit = 100, offset: Offset = 0) -> list[Command]:
    return [Command.model_validate(c) for c in core.list_commands(gateway_id, limit=limit, offset=offset)]


@router.get("/commands/{command_id}", response_model=Command, responses=ERRORS)
def get_command(core: CoreDep, command_id: str) -> Command:
    return Command.model_validate(core.get_command(command_id))
