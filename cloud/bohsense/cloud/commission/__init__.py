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
Errors are drawn in ``_errors``. The names below are imported when first used, so that
loading the CLI (``cli``) costs nothing until a command runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._config import PASSWORD_CREDENTIAL, PASSWORD_ENV, gateway_toml
    from ._errors import CommissionError, IdentityUnavailable, Issue, NotCommissioned, SheetInvalid
    from ._identity import Credentials, create_identity
    from ._import import ImportResult, check_only, import_plan, stored_plan
    from ._plan import StorePlan
    from ._report import checklist_html, checklist_json
    from ._schema import SECTIONS
    from ._sheet import MAX_SHEET_BYTES
    from ._steps import build_checklist, read_plan
    from ._template import template_csv, template_xlsx
    from ._verify import Checklist, Item, Observed, checklist

#: public name → the private module that defines it
_WHERE = {
    "MAX_SHEET_BYTES": "_sheet",
    "PASSWORD_CREDENTIAL": "_config",
    "PASSWORD_ENV": "_config",
    "SECTIONS": "_schema",
    "Checklist": "_verify",
    "CommissionError": "_errors",
    "Credentials": "_identity",
    "IdentityUnavailable": "_errors",
    "ImportResult": "_import",
    "Issue": "_errors",
    "Item": "_verify",
    "NotCommissioned": "_errors",
    "Observed": "_verify",
    "SheetInvalid": "_errors",
    "StorePlan": "_plan",
    "build_checklist": "_steps",
    "check_only": "_import",
    "checklist": "_verify",
    "checklist_html": "_report",
    "checklist_json": "_report",
    "create_identity": "_identity",
    "gateway_toml": "_config",
    "import_plan": "_import",
    "read_plan": "_steps",
    "stored_plan": "_import",
    "template_csv": "_template",
    "template_xlsx": "_template",
}

__all__ = [
    "MAX_SHEET_BYTES",
    "PASSWORD_CREDENTIAL",
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
    "template_csv",
    "template_xlsx",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
