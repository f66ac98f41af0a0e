"""Streaming scores of a ``timestamp,value`` CSV: one score in [0, 1] per data row.

A row's score is computed before the row is learnt, from that row and the rows before
it only, so scoring a prefix gives the prefix of the scores, and every score is written
as soon as its row is read. Timestamps are seconds since the epoch or ISO 8601
(naive means UTC) and may not go back. A value that parses as NaN or ±inf is a sensor
fault (score 1.0); anything else that is not a number stops the run with
:class:`~bohsense.models.errors.InputError` naming the line, after the scores of every
row before it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from bohsense.models.detect import Detector, SeriesDetector
from bohsense.models.errors import InputError

__all__ = ["parse_timestamp", "score_csv"]

HEADER = "timestamp,value"


def parse_timestamp(text: str, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return _iso(text)
    except ValueError:
        raise InputError(f"timestamp {text!r} is neither epoch seconds nor ISO 8601", line) from None


def _iso(text: str) -> float:
    ts = datetime.fromisoformat(text)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.timestamp()


def score_csv(lines: Iterable[str], detector: Detector | None = None) -> Iterator[float]:
    """Scores of the data rows of ``lines`` (the header first), one per row, lazily."""
    det = detector if detector is not None else SeriesDetector()
    it = iter(lines)
    first = next(it, None)
    if first is None:
        raise InputError("empty input: expected the header 'timestamp,value'", 1)
    if first.strip().lstrip("\ufeff").replace(" ", "").lower() != HEADER:
        raise InputError(f"expected the header 'timestamp,value', got {first.strip()[:80]!r}", 1)
    last_ts = -math.inf
    for number, raw in enumerate(it, start=2):
        row = raw.rstrip("\r\n")
        fields = row.split(",")
        if len(fields) != 2:
            raise InputError(f"expected 2 fields 'timestamp,value', got {len(fields)}: {row[:80]!r}", number)
        ts_text, value_text = fields[0].strip(), fields[1].strip()
        if not ts_text:
            raise InputError("empty timestamp", number)
        ts = parse_timestamp(ts_text, number)
        if not math.isfinite(ts):
            raise InputError(f"timestamp {ts_text!r} is not finite", number)
        if ts < last_ts:
            raise InputError(f"timestamp {ts_text!r} is earlier than the row before it", number)
        last_ts = ts
        try:
            value = float(value_text)
        except ValueError:
            raise InputError(f"value {value_text[:40]!r} is not a number", number) from None
        x = {"value": value}
        yield det.score_one(x)
        det.learn_one(x)
