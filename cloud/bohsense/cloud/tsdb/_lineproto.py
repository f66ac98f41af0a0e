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


def chunked_lines(batches: Sequence[ReadingBatch], size: int) -> Iterator[tuple[str, int]]:
    """Newline-joined bodies of at most ``size`` points each, with their point counts."""
    chunk: list[str] = []
    for line in iter_lines(batches):
        chunk.append(line)
        if len(chunk) >= size:
            yield "\n".join(chunk), len(chunk)
            chunk = []
    if chunk:
        yield "\n".join(chunk), len(chunk)
