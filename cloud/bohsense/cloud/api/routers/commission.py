"""Commissioning a store through the API (``bohsense.cloud.commission``; docs/commissioning.md).

``POST /commission/{site}/import`` takes the hand-over sheet as the request body (CSV:
``text/csv``; XLSX: its spreadsheet media type or ``application/octet-stream``), checks
it, and imports it into the catalog in one transaction; an invalid sheet is answered
422 with one entry in ``errors`` per problem (``loc``: sheet, row, column) and nothing is
imported. The answer carries the gateway's configuration (without its password) and,
when the service names the broker's password and ACL files
(``BOHSENSE_CLOUD_BROKER_PASSWD_FILE`` / ``…_ACL_FILE``), the gateway's new broker login
with its password: shown in this one answer, stored nowhere but as a hash.

``GET /commission/{site}/checklist``: every planned device reports, every lane's weight
is plausible for its SKU, every asset's sensor is live: pass, fail or missing with the
reason; ``format=html`` gives the self-contained HTML report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from bohsense.contracts.timeutil import now_ns

from ...boh import NotFound
from ...commission import (
    MAX_SHEET_BYTES,
    CommissionError,
    NotCommissioned,
    SheetInvalid,
    build_checklist,
    check_only,
    checklist_html,
    create_identity,
    gateway_toml,
    import_plan,
    read_plan,
)
from .._common import Name
from .._deps import CoreDep, TsdbDep
from .._errors import FieldError, error_response
from .._identity import Principal, PrincipalDep

router = APIRouter(prefix="/commission", tags=["commission"])

_SHEET_TYPES = {
    "text/csv": "sheet.csv",
    "application/csv": "sheet.csv",
    "text/plain": "sheet.csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "sheet.xlsx",
    "application/octet-stream": "",
}


class Credentials(BaseModel):
    username: str
    password: str = Field(description="shown in this answer only; set it on the gateway")


class Imported(BaseModel):
    site: str
    gateway: str
    checked_only: bool = Field(description="true: the sheet was only checked (check=true); nothing changed")
    changes: dict[str, int] = Field(description='"<kind> <action>" → how many catalog entries')
    released: int = Field(description="batches the gateway sent before it was registered, applied now")
    devices: int
    lanes: int
    assets: int
    gateway_config: str = Field(description="the gateway's gateway.toml (no password in it)")
    credentials: Credentials | None = Field(
        description="the gateway's new broker login (null: the service names no broker files)"
    )


class CheckItem(BaseModel):
    check: str = Field(description="gateway, device, lane or asset")
    subject: str
    status: Literal["pass", "fail", "missing"]
    reason: str
    detail: dict[str, Any]


class ChecklistOut(BaseModel):
    site: str
    gateway: str
    generated_ns: int
    imported_ns: int
    max_age_s: float
    tolerance: float
    ok: bool = Field(description="every item passed")
    summary: dict[str, int]
    items: list[CheckItem]


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "the site has no imported hand-over sheet"},
    413: {"description": "the sheet is too large"},
    415: {"description": "the body is not a CSV or XLSX sheet"},
    422: {
        "description": "the sheet has errors (each in errors: loc = [sheet, row, column]); nothing imported"
    },
}


def _sheet_errors(exc: SheetInvalid) -> JSONResponse:
    errors = [
        FieldError(
            loc=[i.sheet, *([i.row] if i.row is not None else []), *([i.column] if i.column else [])],
            msg=i.message,
            type="sheet",
        )
        for i in exc.issues
    ]
    detail = f"the hand-over sheet has {len(exc.issues)} error(s); nothing was imported"
    return error_response(status.HTTP_422_UNPROCESSABLE_CONTENT, detail, errors)


_SHEET_BODY = {
    "requestBody": {
        "required": True,
        "description": "the hand-over sheet: CSV (UTF-8) or XLSX (docs/commissioning.md)",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            },
        },
    }
}


def _own_gateway(core: CoreDep, principal: Principal, gateway_id: str) -> None:
    """The sheet's gateway, when the catalog has it at a store the caller does not see, is
    not found (the sheet would move it)."""
    if not principal.scoped:
        return
    try:
        found = core.get_gateway(gateway_id)
    except NotFound:
        return
    if not principal.sees(found.site):
        raise NotFound("gateway", gateway_id)


@router.post("/{site}/import", response_model=Imported, responses=ERRORS, openapi_extra=_SHEET_BODY)
async def import_sheet(
    request: Request,
    core: CoreDep,
    principal: PrincipalDep,
    site: Name,
    check: Annotated[bool, Query(description="only check the sheet; change nothing")] = False,
) -> Any:
    """Import the store's hand-over sheet (the request body); the sheet must be for ``site``,
    a store of the caller's (403 ``out-of-scope``); the caller is recorded in the audit log."""
    principal.require_site(site)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _SHEET_TYPES:
        return error_response(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"the body must be a CSV (text/csv) or XLSX sheet, not {media or 'untyped'}",
        )
    body = await request.body()
    if len(body) > MAX_SHEET_BYTES:
        return error_response(
            status.HTTP_413_CONTENT_TOO_LARGE, f"the sheet is larger than {MAX_SHEET_BYTES} bytes"
        )
    try:
        plan = await run_in_threadpool(read_plan, body, filename=_SHEET_TYPES[media])
    except SheetInvalid as exc:
        return _sheet_errors(exc)
    if plan.site.id != site:
        return error_response(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"the sheet is the hand-over of site {plan.site.id!r}, not {site!r}",
            [
                FieldError(
                    loc=["site", 0, "site"], msg=f"is {plan.site.id!r}, the path names {site!r}", type="sheet"
                )
            ],
        )
    await run_in_threadpool(_own_gateway, core, principal, plan.gateway.id)
    counts = {"devices": len(plan.devices), "lanes": len(plan.lanes), "assets": len(plan.assets)}
    try:
        if check:
            await run_in_threadpool(check_only, core, plan)
            return Imported(
                site=site,
                gateway=plan.gateway.id,
                checked_only=True,
                changes={},
                released=0,
                **counts,
                gateway_config=gateway_toml(plan),
                credentials=None,
            )
        result = await run_in_threadpool(import_plan, core, plan, actor=principal.actor)
    except SheetInvalid as exc:
        return _sheet_errors(exc)
    files = getattr(request.app.state, "broker_files", None)
    credentials = None
    if files is not None:
        passwd, acl = files
        try:
            made = await run_in_threadpool(
                create_identity, plan.gateway.id, passwd_file=Path(passwd), acl_file=Path(acl)
            )
        except CommissionError as exc:
            return error_response(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"the catalog is imported, but {exc}: import again to retry",
            )
        credentials = Credentials(username=made.username, password=made.password)
    username = credentials.username if credentials else None
    return Imported(
        site=site,
        gateway=result.gateway,
        checked_only=False,
        changes=result.changes,
        released=result.released,
        **counts,
        gateway_config=gateway_toml(plan, username=username),
        credentials=credentials,
    )


@router.get(
    "/{site}/checklist",
    response_model=ChecklistOut,
    responses={
        **ERRORS,
        200: {"content": {"text/html": {}}, "description": "the checklist (JSON, or HTML with format=html)"},
    },
)
async def get_checklist(
    core: CoreDep,
    principal: PrincipalDep,
    tsdb: TsdbDep,
    site: Name,
    format: Annotated[Literal["json", "html"], Query(description="json (default) or html")] = "json",
    max_age_s: Annotated[float, Query(gt=0, le=30 * 86_400, description="older data is not live")] = 600.0,
    tolerance: Annotated[
        float, Query(gt=0, lt=0.5, description="lane weight: how far from whole units")
    ] = 0.3,
) -> Any:
    """The commissioning checklist of ``site`` against the cloud's data now."""
    principal.require_site(site)
    try:
        result = await build_checklist(
            core, tsdb, site, now_ns=now_ns(), max_age_s=max_age_s, tolerance=tolerance
        )
    except NotCommissioned as exc:
        return error_response(status.HTTP_404_NOT_FOUND, str(exc))
    if format == "html":
        return HTMLResponse(checklist_html(result))
    return ChecklistOut.model_validate(result.to_dict())
