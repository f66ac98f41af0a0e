"""Reading a history file (plain or gzip CSV) into series, with one clear error."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from pathlib import Path

from ._errors import HistoryError
from ._history import Series, parse_history

__all__ = ["read_history", "read_known_items"]


def read_known_items(path: str | Path) -> Callable[[str, str], bool]:
    """The items a history may name, from a CSV with an ``item_id`` column and optionally
    ``store_id`` (then the pair must be listed; other columns are not read here, so the
    replenishment plan's stock file serves as well). Errors name the file's line."""
    p = Path(path)
    try:
        with p.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            if "item_id" not in header:
                raise HistoryError(f"{p}: line 1: a catalog needs an item_id column")
            i_item = header.index("item_id")
            i_store = header.index("store_id") if "store_id" in header else None
            items: set[str] = set()
            pairs: set[tuple[str, str]] = set()
            for lineno, rec in enumerate(reader, start=2):
                if len(rec) != len(header):
                    raise HistoryError(
                        f"{p}: line {lineno}: {len(rec)} fields where the header has {len(header)}"
                    )
                item = rec[i_item].strip()
                store = rec[i_store].strip() if i_store is not None else ""
                if not item or (i_store is not None and not store):
                    raise HistoryError(f"{p}: line {lineno}: empty item_id or store_id")
                items.add(item)
                pairs.add((item, store))
    except OSError as exc:
        raise HistoryError(f"cannot read {p}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise HistoryError(f"{p} is not UTF-8 text: {exc.reason}") from exc
    if i_store is None:
        return lambda item, _store: item in items
    return lambda item, store: (item, store) in pairs


def read_history(
    path: str | Path, *, fill_gaps: bool = False, known: Callable[[str, str], bool] | None = None
) -> list[Series]:
    """Parse ``path`` (gzip when it starts with the gzip magic bytes). Raises HistoryError
    for a file that cannot be read as well as for bad rows."""
    p = Path(path)
    try:
        with p.open("rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        with (
            gzip.open(p, "rb") if gz else p.open("rb") as f,
            io.TextIOWrapper(f, encoding="utf-8", newline="") as text,
        ):
            return parse_history(text, fill_gaps=fill_gaps, known=known)
    except OSError as exc:  # missing file, directory, corrupt gzip
        raise HistoryError(f"cannot read {p}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise HistoryError(f"{p} is not UTF-8 text: {exc.reason}") from exc
