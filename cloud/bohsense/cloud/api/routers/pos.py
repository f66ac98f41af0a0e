"""The point-of-sale / ERP feed: POST /pos/transactions (sales, receipts, adjustments into
the book-stock ledger), GET /pos/ledger.

A batch is taken whole or not at all. A bad line is answered 422 naming it (``field``:
``transactions[2].lines[0].sku``) and nothing of the batch is applied: an unknown SKU,
GTIN, site or stock location, a sale or receipt of a quantity that is not positive, an
adjustment of 0, a transaction id given twice in the batch. A malformed body (a field the
API does not know, a wrong type) is answered 422 with the offending field. A transaction id
the sender used before is answered ``duplicate`` and changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict, Field, StrictFloat, StrictInt, model_validator

from ...boh import LEDGER_KINDS as KINDS
from ...boh import POS_MAX_LINES as MAX_LINES
from ...boh import PosBatch, PosLine, PosTransactionIn
from .._common import ApiModel, Name, RequestModel, enum_field, parse_time, query_problem
from .._deps import CoreDep
from .._identity import PrincipalDep
from .._paging import PageDep

router = APIRouter(prefix="/pos", tags=["book stock"])

_TEXT = r"^[^\x00-\x1f\x7f]+$"


class LineIn(RequestModel):
    sku: Annotated[str, Field(max_length=64, description="the catalog's SKU (or give gtin)")] = ""
    gtin: Annotated[
        str, Field(pattern=r"^(?:[0-9]{14})?$", description="the SKU's GTIN-14 (or give sku)")
    ] = ""
    location: Annotated[
        str, Field(max_length=128, description='the stock location; "" for the SKU\'s only one in the site')
    ] = ""
    quantity: Annotated[
        StrictFloat | StrictInt,
        Field(description="units; positive for a sale or receipt, signed (not 0) for an adjustment"),
    ]
    reason: Annotated[str, Field(max_length=200, description="why (an adjustment's reason)")] = ""


class TransactionIn(RequestModel):
    txn_id: Annotated[
        str, Field(min_length=1, max_length=128, pattern=_TEXT, description="the sender's transaction id")
    ]
    kind: Literal["sale", "receipt", "adjustment"]
    site: Annotated[str, Field(min_length=1, max_length=64, pattern=_TEXT)]
    occurred_at: Annotated[
        str | StrictInt,
        Field(description="when it happened: ISO 8601 with timezone, or integer ns since the epoch"),
    ]
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=MAX_LINES)]


class BatchIn(RequestModel):
    sender: Annotated[
        str, Field(min_length=1, max_length=64, pattern=_TEXT, description="the till system or ERP posting")
    ]
    transactions: Annotated[list[TransactionIn], Field(min_length=1, max_length=MAX_LINES)]

    @model_validator(mode="after")
    def _few_lines(self) -> BatchIn:
        total = sum(len(t.lines) for t in self.transactions)
        if total > MAX_LINES:
            raise ValueError(f"{total} lines: at most {MAX_LINES} per batch")
        return self


class LineOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    sku: str
    location: str
    quantity: float = Field(description="as in the ledger: a sale negative")
    balance_after: float = Field(description="the location's book stock after the line")


class TransactionOut(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    txn_id: str
    status: str = enum_field(("applied", "duplicate"), "applied, or duplicate: taken before, nothing changed")
    lines: list[LineOut]


class BatchOut(ApiModel):
    applied: int
    duplicates: int
    results: list[TransactionOut] = Field(description="one per transaction, in the batch's order")


class LedgerEntry(ApiModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    site: str
    sku: str
    location: str
    kind: str
    quantity: float
    balance_after: float
    sender: str
    txn_id: str
    line: int
    reason: str
    occurred_ns: int
    received_ns: int


@router.post("/transactions", response_model=BatchOut)
async def post_transactions(core: CoreDep, principal: PrincipalDep, body: BatchIn) -> BatchOut:
    """Sales, receipts and adjustments of a sender, into the book-stock ledger, whole or
    not at all; idempotent by the sender's transaction id. A bad line is answered 422 with
    ``field`` naming it (``transactions[2].lines[0].sku``) and ``reason``; nothing of the
    batch is applied. Who posts is the caller (the audit log's actor); a transaction of a
    store outside the caller's is refused 403 ``out-of-scope`` and nothing is applied."""
    for t in body.transactions:
        principal.require_site(t.site)
    batch = PosBatch(
        body.sender,
        tuple(
            PosTransactionIn(
                t.txn_id,
                t.kind,
                t.site,
                # an integer is checked like an integer string: 0 <= ns < 2**63, or a 422 naming it
                # (one beyond 64 bits reached the database and failed there)
                parse_time(f"transactions[{i}].occurred_at", str(t.occurred_at)),
                tuple(PosLine(float(ln.quantity), ln.sku, ln.gtin, ln.location, ln.reason) for ln in t.lines),
            )
            for i, t in enumerate(body.transactions)
        ),
    )
    results = await run_in_threadpool(lambda: core.record_transactions(batch, actor=principal.actor))
    out = [TransactionOut.model_validate(r) for r in results]
    applied = sum(1 for r in out if r.status == "applied")
    return BatchOut(applied=applied, duplicates=len(out) - applied, results=out)


@router.get("/ledger", response_model=list[LedgerEntry])
async def ledger(
    core: CoreDep,
    principal: PrincipalDep,
    page: PageDep,
    site: Annotated[Name | None, Query(description="one site")] = None,
    sku: Annotated[Name | None, Query(description="one SKU")] = None,
    location: Annotated[Name | None, Query(description="one stock location")] = None,
    kind: Annotated[
        str | None, Query(description="one kind of movement", json_schema_extra={"enum": list(KINDS)})
    ] = None,
) -> list[LedgerEntry]:
    """Book-stock movements, newest first."""
    if kind is not None and kind not in KINDS:
        raise query_problem("kind", f"unknown kind {kind!r}; one of {list(KINDS)}")
    sites = principal.site_filter(site)
    found = await run_in_threadpool(
        lambda: page.rows(
            lambda n, o: core.ledger(sites=sites, sku=sku, location=location, kind=kind, limit=n, offset=o)
        )
    )
    return [LedgerEntry.model_validate(x) for x in found]
