"""The errors of commissioning::

CloudError
 └── CommissionError            anything commissioning refuses, with the reason
      ├── SheetInvalid          the hand-over sheet has errors: ``issues`` lists each one
      │                         (sheet, row, column, what is wrong); nothing was imported
      ├── NotCommissioned       no hand-over sheet was imported for that site
      └── IdentityUnavailable   the gateway's broker identity cannot be created (files,
                                or the broker module is missing); never names a password
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CloudError

__all__ = ["CommissionError", "IdentityUnavailable", "Issue", "NotCommissioned", "SheetInvalid"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One thing wrong with the sheet: where (sheet, row, column) and what."""

    sheet: str
    row: int | None  # the spreadsheet's row (CSV: the file's line), None: the whole sheet
    column: str | None  # the column's header, None: the whole row
    message: str
    letter: str | None = None  # the column's letter (A, B, …) when known

    def __str__(self) -> str:
        where = f"sheet {self.sheet!r}"
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f" column {self.letter + ' ' if self.letter else ''}({self.column})"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}


class CommissionError(CloudError):
    """Root of what commissioning refuses."""


class SheetInvalid(CommissionError):
    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        shown = "\n".join(f"  {i}" for i in issues[:50])
        more = f"\n  … and {len(issues) - 50} more" if len(issues) > 50 else ""
        super().__init__(
            f"the hand-over sheet has {len(issues)} error(s); nothing was imported:\n{shown}{more}"
        )


class NotCommissioned(CommissionError):
    def __init__(self, site: str) -> None:
        self.site = site
        super().__init__(f"site {site!r} has no imported hand-over sheet (bohsense store commission import)")


class IdentityUnavailable(CommissionError):
    pass
