"""Per-sender sequence tracking for 16-bit frame numbers that wrap.

Each sender numbers its frames 0, 1, …, 65535, 0, … . The receiver compares each
frame with the highest number seen so far, modulo 2**16:

- distance 1: in order;
- distance 2 … 32768: ``distance - 1`` frames were lost in between;
- distance 0 or 32769 … 65535 (i.e. "behind"): a duplicate or a late frame, flagged
  and not counted as new.

``reset()`` starts over (the sender rebooted: its HELLO restarts the numbering).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SeqCheck", "SequenceTracker"]

_MOD = 1 << 16
_HALF = 1 << 15


@dataclass(frozen=True, slots=True)
class SeqCheck:
    lost: int = 0
    duplicate: bool = False


class SequenceTracker:
    def __init__(self) -> None:
        self._last: int | None = None
        self.received = 0
        self.lost = 0
        self.duplicates = 0

    def reset(self) -> None:
        self._last = None

    def check(self, seq: int) -> SeqCheck:
        seq &= _MOD - 1
        if self._last is None:
            self._last = seq
            self.received += 1
            return SeqCheck()
        distance = (seq - self._last) % _MOD
        if distance == 0 or distance > _HALF:
            self.duplicates += 1
            return SeqCheck(duplicate=True)
        self._last = seq
        self.received += 1
        self.lost += distance - 1
        return SeqCheck(lost=distance - 1)
