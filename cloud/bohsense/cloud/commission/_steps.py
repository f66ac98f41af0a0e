"""``read_plan`` and ``build_checklist``: the steps that join the parts of the package."""

from __future__ import annotations

import hashlib
from pathlib import PurePath

from ..boh import BohCore
from ..ports import TimeSeriesQuery
from ._import import stored_plan
from ._parse import parse_plan
from ._plan import StorePlan
from ._sheet import read_sheet
from ._verify import Checklist, checklist, observe

__all__ = ["build_checklist", "read_plan"]


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
