"""Line protocol for readings: measurement ``reading``, tags gateway/device/metric, field ``value``.

One line per reading, nanosecond precision::

    reading,gateway=gw-1,device=shelf-3,metric=weight_g value=1234.5 1700000000000000000

Tag values are escaped per the line-protocol rules (``,``, ``=`` and space get a
backslash); ids that the v1 schema allows never need it, so the escaped series key is
computed once per series and cached, and each point is one f-string.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence

from bohsense.cloud.tsdb._errors import StorageRejected
from bohsense.contracts.schema import ReadingBatch

__all__ = ["MEASUREMENT", "chunked_lines", "escape_tag", "iter_lines", "series_key"]

MEASUREMENT = "reading"
_SPECIAL = re.compile(r"[,= \\\n\r]")
_INF = math.inf


def escape_tag(value: str) -> str:
    """Escape a tag key or value for line protocol."""
    if not value:
        raise StorageRejected("empty tag value: line protocol has no empty tags")
    if "\n" in value or "\r" in value:
        raise StorageRejected(f"tag value {value!r} contains a line break")
    if not _SPECIAL.search(value):
        return value
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


class _KeyCache(dict[tuple[str, str, str], str]):
    def __missing__(self, key: tuple[str, str, str]) -> str:
        gateway, device, metric = key
        line = f"{MEASUREMENT},device={escape_tag(device)},gateway={escape_tag(gateway)},metric={escape_tag(metric)}"
        if len(self) > 200_000:
            self.clear()
        self[key] = line
        return line


_keys = _KeyCache()


def series_key(gateway: str, device: str, metric: str) -> str:
    """The escaped ``measurement,tags`` prefix of one series (tags sorted by key)."""
    return _keys[(gateway, device, metric)]


def iter_lines(batches: Sequence[ReadingBatch]) -> Iterator[str]:
    """One line-protocol line per reading; a non-finite value is rejected."""
    keys = _keys
    for batch in batches:
        gw = batch.gateway
        for r in batch.readings:
            v = r.value
            if not -_INF < v < _INF:
                raise StorageRejected(
                    f"value {v!r} of {gw}/{r.device}/{r.metric} at {r.ts} is not a finite number"
                )
            yield f"{keys[(gw, r.device, r.metric)]} value={v!r} {r.ts}"


def _careful_chunks(batches: Sequence[ReadingBatch], size: int) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    chunk: list[str] = []
    for line in iter_lines(batches):
        chunk.append(line)
        if len(chunk) >= size:
            out.append(("\n".join(chunk), len(chunk)))
            chunk = []
    if chunk:
        out.append(("\n".join(chunk), len(chunk)))
    return out


def _is_plain(body: str, n: int) -> bool:
    """True when no tag of ``body``'s ``n`` lines needed escaping and every value is finite.

    A plain line has exactly 2 spaces, 3 commas, 4 ``=`` and no backslash; float ``repr``
    adds none of these, so any special character in a tag value changes a count.
    """
    return (
        body.count(" ") == 2 * n
        and body.count(",") == 3 * n
        and body.count("=") == 4 * n
        and body.count("\n") == n - 1
        and "\\" not in body
        and "\r" not in body
        and "=," not in body
        and "= " not in body
        and "value=nan " not in body
        and "value=inf " not in body
        and "value=-inf " not in body
    )


def chunked_lines(batches: Sequence[ReadingBatch], size: int) -> list[tuple[str, int]]:
    """Newline-joined bodies of at most ``size`` points each, with their point counts.

    Fast path: one f-string per reading with the ids as they are, then one check per body
    (``_is_plain``); if any id needs escaping or a value is not finite, the whole write
    is formatted again through ``iter_lines``, which escapes or raises.
    """
    lines: list[str] = []
    for batch in batches:
        gw = batch.gateway
        lines.extend(
            [
                f"{MEASUREMENT},device={r.device},gateway={gw},metric={r.metric} value={r.value!r} {r.ts}"
                for r in batch.readings
            ]
        )
    out: list[tuple[str, int]] = []
    for i in range(0, len(lines), size):
        part = lines[i : i + size]
        body = "\n".join(part)
        if not _is_plain(body, len(part)):
            return _careful_chunks(batches, size)
        out.append((body, len(part)))
    return out
