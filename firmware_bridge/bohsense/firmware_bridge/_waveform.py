"""Waveform blocks ↔ WAVEFORM fragments: splitting on the device, reassembly at the gateway.

A block (``Waveform``) of up to ``MAX_BLOCK_SAMPLES`` int16 counts is more than one frame
carries, so the sender cuts it into fragments of at most ``MAX_FRAGMENT_SAMPLES``
(``split_waveform``), sent in order, one frame each. The receiver (``WaveformAssembler``)
keeps one open block per axis and puts the fragments back. The rules (PROTOCOL.md,
"Reassembly"), which never let a wrong block pass as whole:

- fragments of a block arrive in order 0, 1, …, fragments − 1, each starting where the
  one before ended, all with the same header (time, rate, scale, size, fragment count);
- a fragment index skipped (``missing-fragment``), seen twice (``duplicate-fragment``),
  arriving after a later one (``out-of-order``) or with another header or offset
  (``inconsistent``) marks the block lost;
- a fragment of another block (a new ``block_seq``) closes the open block of that axis:
  lost if its tail never came (``missing-fragment``); so does ``expire`` when no fragment
  of it came for a time (``stale``), for a device that stopped mid-block;
- a block whose first fragments never came is lost from the fragment that did come;
- whole blocks never seen are counted from the gap in ``block_seq`` (``blocks_missed``);
  a fragment of a block already closed (``late-fragment``) is dropped and counted;
- after ``resync`` (the sender announced itself again and may have rebooted) numbering
  may start over: nothing is late, no gap is counted until the next block of each axis.

A lost block is still handed out, whole length, ``None`` where no sample arrived, with
``lost=True`` and its ``reasons``: the receiver knows the block existed and what is
missing. Pure: no I/O, no clock reads (times are given).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from bohsense.firmware_bridge._codec import MAX_BLOCK_SAMPLES, MAX_FRAGMENT_SAMPLES, fragment_problem
from bohsense.firmware_bridge._errors import EncodeError
from bohsense.firmware_bridge._messages import Axis, WaveformFragment

__all__ = [
    "AssembledBlock",
    "BlockLoss",
    "Waveform",
    "WaveformAssembler",
    "split_waveform",
]

INT16_MIN = -32768
INT16_MAX = 32767
_MOD = 1 << 16
_HALF = 1 << 15


@dataclass(frozen=True, slots=True)
class Waveform:
    """One whole block: ``counts`` (int16) of ``axis``, the first taken at ``time_us``."""

    time_us: int
    synced: bool
    axis: Axis
    block_seq: int
    sample_rate_hz: float
    scale_g: float
    counts: tuple[int, ...]


class BlockLoss(StrEnum):
    """Why a reassembled block is lost, or a fragment was dropped (counted under the name)."""

    MISSING = "missing-fragment"
    DUPLICATE = "duplicate-fragment"
    OUT_OF_ORDER = "out-of-order"
    INCONSISTENT = "inconsistent"
    STALE = "stale"
    LATE = "late-fragment"


@dataclass(frozen=True, slots=True)
class AssembledBlock:
    """A block out of the assembler; ``counts[i]`` is None where sample ``i`` never arrived."""

    time_us: int
    synced: bool
    axis: Axis
    block_seq: int
    sample_rate_hz: float
    scale_g: float
    counts: tuple[int | None, ...]
    lost: bool
    reasons: tuple[BlockLoss, ...] = ()

    @property
    def clipped(self) -> int:
        """Samples at the int16 limits (the accelerometer's range was exceeded)."""
        return sum(1 for c in self.counts if c in (INT16_MIN, INT16_MAX))


def split_waveform(block: Waveform, max_samples: int = MAX_FRAGMENT_SAMPLES) -> list[WaveformFragment]:
    """The fragments to send for ``block``, in order; ``EncodeError`` for a block the wire cannot carry."""
    n = len(block.counts)
    if not 1 <= n <= MAX_BLOCK_SAMPLES:
        raise EncodeError(f"a waveform block has 1..{MAX_BLOCK_SAMPLES} samples, not {n}")
    if not 1 <= max_samples <= MAX_FRAGMENT_SAMPLES:
        raise EncodeError(f"fragments carry 1..{MAX_FRAGMENT_SAMPLES} samples, not {max_samples}")
    if any(not INT16_MIN <= c <= INT16_MAX for c in block.counts):
        raise EncodeError("waveform counts must be int16")
    fragments = math.ceil(n / max_samples)
    if fragments > 255:
        raise EncodeError(f"{n} samples need {fragments} fragments of {max_samples} (max 255)")
    out = []
    for i in range(fragments):
        offset = i * max_samples
        fragment = WaveformFragment(
            block.time_us,
            block.synced,
            block.axis,
            block.block_seq & 0xFFFF,
            block.sample_rate_hz,
            block.scale_g,
            n,
            i,
            fragments,
            offset,
            tuple(block.counts[offset : offset + max_samples]),
        )
        problem = fragment_problem(fragment)
        if problem is not None:
            raise EncodeError(f"WAVEFORM: {problem}")
        out.append(fragment)
    return out


def _header(f: WaveformFragment) -> tuple[object, ...]:
    return (f.time_us, f.synced, f.sample_rate_hz, f.scale_g, f.block_samples, f.fragments)


@dataclass(slots=True)
class _Open:
    first: WaveformFragment
    last_us: int  # when its latest fragment arrived
    counts: list[int | None]
    received: set[int] = field(default_factory=set)
    next_index: int = 0
    next_offset: int = 0
    reasons: list[BlockLoss] = field(default_factory=list)

    def lose(self, reason: BlockLoss) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)

    def close(self) -> AssembledBlock:
        f = self.first
        if any(c is None for c in self.counts) and not self.reasons:
            self.reasons.append(BlockLoss.MISSING)
        return AssembledBlock(
            f.time_us,
            f.synced,
            f.axis,
            f.block_seq,
            f.sample_rate_hz,
            f.scale_g,
            tuple(self.counts),
            bool(self.reasons),
            tuple(self.reasons),
        )


class WaveformAssembler:
    """Fragments in (``add``), whole or lost blocks out; counts by ``BlockLoss`` in ``counters``.

    ``counters``: ``blocks`` (whole), ``blocks_lost``, ``blocks_missed`` (never seen),
    ``fragments``, and one per ``BlockLoss`` value (fragment events of that kind).
    """

    def __init__(self) -> None:
        self._open: dict[Axis, _Open] = {}
        self._last_seq: dict[Axis, int] = {}
        self._resync: set[Axis] = set()
        self.counters: Counter[str] = Counter()

    @property
    def open_blocks(self) -> int:
        return len(self._open)

    def resync(self) -> None:
        """The sender announced itself again (HELLO): it may have rebooted, so block numbers
        may start over. An open block still completes if its next fragment follows; a
        fragment of any other block closes it (lost) and starts afresh, never as late."""
        self._last_seq.clear()
        self._resync = set(self._open)

    def add(self, f: WaveformFragment, now_us: int) -> list[AssembledBlock]:
        """Take fragment ``f`` (received at gateway time ``now_us``); return the blocks it closed."""
        self.counters["fragments"] += 1
        out: list[AssembledBlock] = []
        axis = f.axis
        p = self._open.get(axis)
        resyncing = axis in self._resync
        self._resync.discard(axis)
        if p is not None and p.first.block_seq != f.block_seq:
            ahead = (f.block_seq - p.first.block_seq) % _MOD
            if not resyncing and ahead > _HALF:  # a fragment of a block before the open one
                self.counters[BlockLoss.LATE] += 1
                return out
            out.append(self._finish(p))
            del self._open[axis]
            p = None
        if p is None:
            last = self._last_seq.get(axis)
            if last is not None:
                ahead = (f.block_seq - last) % _MOD
                if ahead == 0 or ahead > _HALF:
                    self.counters[BlockLoss.LATE] += 1
                    return out
                self.counters["blocks_missed"] += ahead - 1
            self._last_seq[axis] = f.block_seq
            p = _Open(f, now_us, [None] * f.block_samples)
            self._open[axis] = p
            if f.fragment != 0:  # the block's first fragments never came
                self._count(p, BlockLoss.MISSING)
                p.next_index, p.next_offset = f.fragment, f.offset
        elif _header(f) != _header(p.first):
            p.last_us = now_us
            self._count(p, BlockLoss.INCONSISTENT)
            return out
        p.last_us = now_us
        if f.fragment in p.received:
            self._count(p, BlockLoss.DUPLICATE)
            return out
        if f.fragment < p.next_index:
            self._count(p, BlockLoss.OUT_OF_ORDER)
        elif f.fragment > p.next_index:
            self._count(p, BlockLoss.MISSING)
        elif f.offset != p.next_offset:
            self._count(p, BlockLoss.INCONSISTENT)
            return out
        p.received.add(f.fragment)
        for i, count in enumerate(f.counts, start=f.offset):
            if p.counts[i] is None:
                p.counts[i] = count
        if f.fragment >= p.next_index:
            p.next_index = f.fragment + 1
            p.next_offset = f.offset + len(f.counts)
        if f.fragment == f.fragments - 1:
            out.append(self._finish(p))
            del self._open[axis]
        return out

    def expire(self, now_us: int, max_idle_us: int) -> list[AssembledBlock]:
        """Close (lost, ``stale``) every open block with no fragment for more than ``max_idle_us``."""
        out = []
        for axis, p in list(self._open.items()):
            if now_us - p.last_us > max_idle_us:
                self._count(p, BlockLoss.STALE)
                out.append(self._finish(p))
                del self._open[axis]
        return out

    def _count(self, p: _Open, reason: BlockLoss) -> None:
        self.counters[reason] += 1
        p.lose(reason)

    def _finish(self, p: _Open) -> AssembledBlock:
        if any(c is None for c in p.counts) and BlockLoss.MISSING not in p.reasons:
            self._count(p, BlockLoss.MISSING)
        block = p.close()
        self.counters["blocks_lost" if block.lost else "blocks"] += 1
        return block
