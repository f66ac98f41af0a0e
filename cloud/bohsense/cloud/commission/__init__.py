"""Commissioning a store: from its hand-over sheet to a checklist of what reports.

1. ``read_plan``: the hand-over sheet (CSV or XLSX; sections and columns in ``_schema``,
   template in ``deploy/commissioning/``) read and checked into a ``StorePlan``; every
   problem is listed by sheet, row and column (``SheetInvalid``).
2. ``import_plan``: the plan into the catalog through the catalog operations, in one
   transaction (all or nothing), recorded as a ``commission.imported`` event.
3. ``create_identity``: the gateway's broker login and ACL (the password is returned once).
4. ``gateway_toml``: the gateway's configuration, without the password.
5. ``build_checklist``: once the gateway runs, every planned device, lane and asset sensor
   checked against the cloud's data; ``checklist_html`` / ``checklist_json`` report it.

The CLI is ``bohsense store commission …`` (``cli``), the API ``/api/v1/commission/…``.
Errors are drawn in ``_errors``.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePath

from ..boh import BohCore
from ..ports import TimeSeriesQuery
from ._config import PASSWORD_ENV, gateway_toml
from ._errors import CommissionError, IdentityUnavailable, Issue, NotCommissioned, SheetInvalid
from ._identity import Credentials, create_identity
from ._import import ImportResult, check_only, import_plan, stored_plan
from ._plan import StorePlan, parse_plan
from ._report import checklist_html, checklist_json
from ._schema import SECTIONS
from ._sheet import MAX_SHEET_BYTES, read_sheet
from ._verify import Checklist, Item, Observed, checklist, observe

__all__ = [
    "MAX_SHEET_BYTES",
    "PASSWORD_ENV",
    "SECTIONS",
    "Checklist",
    "CommissionError",
    "Credentials",
    "IdentityUnavailable",
    "ImportResult",
    "Issue",
    "Item",
    "NotCommissioned",
    "Observed",
    "SheetInvalid",
    "StorePlan",
    "build_checklist",
    "check_only",
    "checklist",
    "checklist_html",
    "checklist_json",
    "create_identity",
    "gateway_toml",
    "import_plan",
    "read_plan",
    "stored_plan",
]


def read_plan(data: bytes, *, filename: str = "") -> StorePlan:
    """The checked plan of a sheet's bytes (``SheetInvalid`` lists every problem)."""
    source = {"file": PurePath(filename).name, "sha256": hashlib.sha256(data).hexdigest()}
    return parse_plan(read_sheet(data, filename=filename), source=source)


async def build_checklist(
    core: BohCore,
    tsdb: TimeSeriesQuery,
    site: str,
    *,
    now_ns: int,
    max_age_s: float = 600.0,
    tolerance: float = 0.3,
) -> Checklist:
    """The checklist of ``site``'s newest imported plan against the cloud's data now."""
    plan, imported_ns = stored_plan(core, site)
    seen = await observe(core, tsdb, plan, now_ns=now_ns)
    return checklist(plan, seen, imported_ns=imported_ns, max_age_s=max_age_s, tolerance=tolerance)
