"""Work orders: list, read, create by hand, change, and move along their lifecycle.

``GET /work-orders``, ``POST /work-orders``, ``GET /work-orders/{id}``,
``PATCH /work-orders/{id}`` (assignee, due date, priority, resolution; parts, labour,
notes and attachments are appended), ``POST /work-orders/{id}/transition``. Closing a
work order resolves its alert, and is refused (409, ``condition-active``) while the
alert's condition is still active; see ``bohsense.cloud.boh._work_orders``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict, Field, field_validator

from ...boh import (
    PRIORITIES,
    WORK_ORDER,
    Attachment,
    LabourEntry,
    NotFound,
    PartUse,
    WorkOrderChanges,
    WorkOrderRecord,
)
from .._common import (
    ActionBody,
    ApiModel,
    Id,
    IdFilter,
    Name,
    RequestModel,
    check_state,
    enum_field,
    state_filter,
)
from .._deps import CoreDep, TsdbDep
from .._export import CSV_RESPONSES, Period, PeriodFrom, PeriodTo, csv_response, every, in_lifetime
from .._identity import PrincipalDep
from .._paging import PageDep
from .._scoping import visible

router = APIRouter(prefix="/work-orders", tags=["work orders"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such work order (or asset)"},
    409: {"description": "invalid transition, or the state does not allow it now (with a reason)"},
}

Text = Annotated[str, Field(max_length=2000)]
Short = Annotated[str, Field(max_length=64)]
Priority = Literal["low", "normal", "high", "urgent"]
assert get_args(Priority) == PRIORITIES, "the API's priorities are the BOH core's"
Ns = Annotated[int, Field(ge=0, le=2**63 - 1, description="ns since the epoch, UTC")]
URI = r"^[A-Za-z][A-Za-z0-9+.\-]*:[!-~]+$"  # printable ASCII: a URI, percent-encoded


class WorkOrder(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    alert_id: int | None
    asset_id: str
    site: str
    kind: str
    title: str
    description: str
    state: str = enum_field(WORK_ORDER.states, "where the work order is in its lifecycle")
    created_ns: int
    updated_ns: int
    note: str
    priority: str
    assignee: str
    due_ns: int | None
    parts: list[dict[str, Any]]
    labour: list[dict[str, Any]]
    resolution_code: str
    root_cause: str
    notes: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    evidence: dict[str, Any] = Field(
        description="why it was raised: the decision, the diagnosis and its evidence, envelope features, the feature trend"
    )
    checks: list[str] = Field(
        description="recommended checks (the rule's, then the catalog's maintenance guides)"
    )
    spare_parts: list[dict[str, Any]] = Field(description="recommended spare parts {part, quantity}")


class FaultLabel(ApiModel):
    """A fault a technician confirmed by closing its work order: a label for training."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    asset_id: str
    site: str
    fault: str
    resolution_code: str
    root_cause: str
    alert_id: int | None
    work_order_id: int
    model: str
    start_ns: int | None
    end_ns: int | None
    evidence: dict[str, Any]
    created_ns: int


class Transition(ActionBody):
    to: str = Field(
        description=f"one of {sorted(WORK_ORDER.states)}",
        json_schema_extra={"enum": list(sorted(WORK_ORDER.states))},
    )

    @field_validator("to")
    @classmethod
    def _known_state(cls, value: str) -> str:
        if value not in WORK_ORDER.states:
            raise ValueError(f"unknown work order state {value!r}; one of {sorted(WORK_ORDER.states)}")
        return value


class PartIn(RequestModel):
    part: Annotated[str, Field(min_length=1, max_length=200)]
    quantity: Annotated[float, Field(gt=0, le=1e6)]
    unit: Short = "each"
    note: Text = ""


class LabourIn(RequestModel):
    technician: Annotated[str, Field(min_length=1, max_length=64)]
    hours: Annotated[float, Field(gt=0, le=1000)]
    note: Text = ""
    at_ns: Ns | None = None


class AttachmentIn(RequestModel):
    uri: Annotated[str, Field(min_length=3, max_length=2000, pattern=URI, description="https://…, s3://…")]
    name: Annotated[str, Field(max_length=200)] = ""
    media_type: Annotated[str, Field(max_length=128)] = ""


class WorkOrderIn(ActionBody):
    asset_id: Annotated[str, Field(min_length=1, max_length=64)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Text = ""
    kind: Annotated[str, Field(min_length=1, max_length=32)] = "maintenance"
    priority: Priority = "normal"
    assignee: Short = ""
    due_ns: Ns | None = None


class WorkOrderPatch(ActionBody):
    """Fields to set (absent: unchanged); ``add_*`` and ``note`` are appended."""

    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: Text | None = None
    priority: Priority | None = None
    assignee: Short | None = None
    due_ns: Ns | None = Field(default=None, description="null together with clear_due removes it")
    clear_due: bool = False
    resolution_code: Short | None = None
    root_cause: Text | None = None
    add_parts: list[PartIn] = Field(default_factory=list, max_length=100)
    add_labour: list[LabourIn] = Field(default_factory=list, max_length=100)
    add_attachments: list[AttachmentIn] = Field(default_factory=list, max_length=100)

    def changes(self) -> WorkOrderChanges:
        return WorkOrderChanges(
            title=self.title,
            description=self.description,
            priority=self.priority,
            assignee=self.assignee,
            due_ns=self.due_ns,
            clear_due=self.clear_due,
            resolution_code=self.resolution_code,
            root_cause=self.root_cause,
            add_parts=tuple(PartUse(p.part, p.quantity, p.unit, p.note) for p in self.add_parts),
            add_labour=tuple(LabourEntry(e.technician, e.hours, e.note, e.at_ns) for e in self.add_labour),
            add_attachments=tuple(Attachment(a.uri, a.name, a.media_type) for a in self.add_attachments),
            note=self.note,
        )


@router.get("", response_model=list[WorkOrder])
def list_work_orders(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    state: Annotated[str | None, state_filter(WORK_ORDER)] = None,
    asset: Name | None = None,
    alert_id: IdFilter = None,
    site: Name | None = None,
) -> list[WorkOrder]:
    check_state(WORK_ORDER, state)
    sites = principal.site_filter(site)
    found = page.rows(
        lambda n, o: core.list_work_orders(
            state=state, asset_id=asset, alert_id=alert_id, sites=sites, limit=n, offset=o
        )
    )
    return [WorkOrder.model_validate(w) for w in found]


@router.get("/export.csv", response_class=Response, responses=CSV_RESPONSES)
def export_work_orders(
    core: CoreDep,
    principal: PrincipalDep,
    since: PeriodFrom = None,
    until: PeriodTo = None,
    site: Name | None = None,
    state: Annotated[str | None, state_filter(WORK_ORDER)] = None,
) -> Response:
    """The work orders of a period as CSV, newest first: those created before ``to`` that
    were still open or changed at or after ``from``."""
    check_state(WORK_ORDER, state)
    period = Period(since, until)
    sites = principal.site_filter(site)
    found = every(lambda n, o: core.list_work_orders(state=state, sites=sites, limit=n, offset=o))
    rows = (
        WorkOrder.model_validate(w)
        for w in found
        if in_lifetime(period, WORK_ORDER, w.created_ns, w.updated_ns, w.state)
    )
    return csv_response(WorkOrder, rows, "work-orders.csv")


@router.get("/labels", response_model=list[FaultLabel])
def list_fault_labels(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    asset: Name | None = None,
    fault: Name | None = None,
) -> list[FaultLabel]:
    """Faults confirmed by closing a work order with ``fault_confirmed``, ``replaced_part`` or
    ``repaired``: the asset, the fault type, the event-time window and the evidence."""
    found = page.cut(core.list_fault_labels(asset_id=asset, fault=fault, sites=principal.sites, **page.seek))
    return [FaultLabel.model_validate(x) for x in found]


def _asset_ids(core: CoreDep, principal: PrincipalDep) -> set[str]:
    return {a.id for a in core.list_assets(sites=principal.sites, include_retired=True)}


@router.post("", response_model=WorkOrder, status_code=status.HTTP_201_CREATED, responses=ERRORS)
def create_work_order(core: CoreDep, principal: PrincipalDep, body: WorkOrderIn) -> WorkOrder:
    """A work order by hand (preventive maintenance, an inspection), for an asset of the
    catalog (of the caller's stores: another store's asset is not found)."""
    if principal.scoped and body.asset_id not in _asset_ids(core, principal):
        raise NotFound("asset", body.asset_id)
    record = core.create_work_order(
        body.asset_id,
        body.title,
        actor=principal.actor,
        kind=body.kind,
        description=body.description,
        priority=body.priority,
        assignee=body.assignee,
        due_ns=body.due_ns,
        note=body.note,
    )
    return WorkOrder.model_validate(record)


def _work_order(core: CoreDep, principal: PrincipalDep, work_order_id: int) -> WorkOrderRecord:
    """The work order, 404 when it is of a store the caller does not see."""
    found = core.get_work_order(work_order_id)
    return visible(principal, found.site, WORK_ORDER.entity, work_order_id, found)


@router.get("/{work_order_id}", response_model=WorkOrder, responses=ERRORS)
def get_work_order(core: CoreDep, principal: PrincipalDep, work_order_id: Id) -> WorkOrder:
    return WorkOrder.model_validate(_work_order(core, principal, work_order_id))


class TrendSeries(ApiModel):
    gateway: str
    device: str
    metric: str
    points: list[tuple[int, float]]


class Trend(ApiModel):
    """The stored readings of the fault's features around it, from the time-series store."""

    work_order_id: int
    start_ns: int
    end_ns: int
    every_s: int | None
    series: list[TrendSeries]


NS = 1_000_000_000
MAX_TREND_POINTS = 300


@router.get("/{work_order_id}/trend", response_model=Trend, responses=ERRORS)
async def trend(
    core: CoreDep,
    principal: PrincipalDep,
    tsdb: TsdbDep,
    work_order_id: Id,
    before_s: Annotated[int, Query(ge=0, le=7 * 86_400, description="from this long before the fault")] = 600,
    after_s: Annotated[
        int, Query(ge=0, le=7 * 86_400, description="to this long after its confirmation")
    ] = 60,
) -> Trend:
    """The feature trend of the work order's fault from the stored readings: every metric of
    its evidence, of the asset's sensors, from ``before_s`` before the fault began to
    ``after_s`` after it was confirmed, as window means when longer than 300 points
    (``every_s``). 409 when the work order has no fault window (made by hand)."""
    wo = await run_in_threadpool(_work_order, core, principal, work_order_id)
    ev = wo.evidence or {}
    first, last = ev.get("first_over_ns"), ev.get("confirmed_ns")
    if not isinstance(first, int) or not isinstance(last, int):
        raise HTTPException(status.HTTP_409_CONFLICT, "the work order has no fault window in its evidence")
    metrics = sorted(ev.get("values") or {}) or ([ev["metric"]] if isinstance(ev.get("metric"), str) else [])
    assets = await run_in_threadpool(core.list_assets, include_retired=True)
    sensors = next((a.sensors for a in assets if a.id == wo.asset_id), [])
    start, end = first - before_s * NS, last + after_s * NS + 1
    span_s = (end - start) / NS
    every = None if span_s <= MAX_TREND_POINTS else max(1, int(span_s // MAX_TREND_POINTS) + 1)
    series = []
    for sensor in sensors:
        for metric in metrics:
            points = await tsdb.series(
                gateway=sensor["gateway"],
                device=sensor["device"],
                metric=metric,
                start_ns=start,
                end_ns=end,
                every_s=every,
            )
            series.append(
                TrendSeries(gateway=sensor["gateway"], device=sensor["device"], metric=metric, points=points)
            )
    return Trend(work_order_id=wo.id, start_ns=start, end_ns=end, every_s=every, series=series)


@router.patch("/{work_order_id}", response_model=WorkOrder, responses=ERRORS)
def update_work_order(
    core: CoreDep, principal: PrincipalDep, work_order_id: Id, body: WorkOrderPatch
) -> WorkOrder:
    _work_order(core, principal, work_order_id)
    record = core.update_work_order(work_order_id, body.changes(), actor=principal.actor)
    return WorkOrder.model_validate(record)


@router.post("/{work_order_id}/transition", response_model=WorkOrder, responses=ERRORS)
def transition(core: CoreDep, principal: PrincipalDep, work_order_id: Id, body: Transition) -> WorkOrder:
    _work_order(core, principal, work_order_id)
    record = core.transition_work_order(work_order_id, body.to, actor=principal.actor, note=body.note)
    return WorkOrder.model_validate(record)
