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


_PLAIN_ID = re.compile(r"[^,= \\\n\r]+\Z")
_plain_ids: set[str] = set()


def _all_plain(batches: Sequence[ReadingBatch]) -> bool:
    """True when no id of ``batches`` needs escaping and every value is finite.

    Ids seen plain before are remembered, so a batch costs two set comprehensions and a sum
    (a sum of finite values is finite unless it overflows, which only sends the write
    down the careful path).
    """
    known = _plain_ids
    for b in batches:
        rs = b.readings
        ids = {r.device for r in rs}
        ids.update([r.metric for r in rs])
        ids.add(b.gateway)
        if not ids <= known:
            for new in ids - known:
                if not _PLAIN_ID.match(new):
                    return False
            if len(known) > 100_000:
                known.clear()
            known |= ids
        if not -_INF < sum([r.value for r in rs]) < _INF:
            return False
    return True


def chunked_lines(batches: Sequence[ReadingBatch], size: int) -> list[tuple[str, int]]:
    """Newline-joined bodies of at most ``size`` points each, with their point counts.

    Fast path: when every id is plain and every value finite (``_all_plain``), one
    f-string per reading; otherwise ``iter_lines`` escapes what needs it or raises.
    """
    if not _all_plain(batches):
        return _careful_chunks(batches, size)
    lines: list[str] = []
    for batch in batches:
        gw = batch.gateway
        lines.extend(
            [
                f"{MEASUREMENT},device={r.device},gateway={gw},metric={r.metric} value={r.value!r} {r.ts}"
                for r in batch.readings
            ]
        )
    return [("\n".join(lines[i : i + size]), len(lines[i : i + size])) for i in range(0, len(lines), size)]
