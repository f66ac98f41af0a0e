"""Reading a history file (plain or gzip CSV) into series, with one clear error."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from ._errors import HistoryError
from ._history import Series, parse_history

__all__ = ["read_history"]


def read_history(path: str | Path, *, fill_gaps: bool = False) -> list[Series]:
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
            return parse_history(text, fill_gaps=fill_gaps)
    except OSError as exc:  # missing file, directory, corrupt gzip
        raise HistoryError(f"cannot read {p}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise HistoryError(f"{p} is not UTF-8 text: {exc.reason}") from exc
