"""The streaming frame decoder: bytes in, frames and errors out, never raises.

Re-synchronisation rule (also in PROTOCOL.md): 0x00 is the only delimiter and never
occurs inside a stuffed frame, so the decoder is always re-synchronised at the next
0x00. Bytes between two delimiters are one candidate frame; a candidate that fails
any check yields exactly one ``FrameError`` and is dropped. A candidate that grows past
``MAX_ENCODED_SIZE`` yields one ``too-long`` error at once and the decoder discards
everything up to and including the next 0x00. Empty candidates (two delimiters in a
row) are padding and yield nothing. Because senders write a 0x00 *before* each frame
as well as after it, garbage or a frame cut short is closed off by the next frame's
leading delimiter and never swallows the good frame that follows it.

Attaching mid-stream (``mid_stream=True``, what a receiver that opens a port a device is
already writing to uses): the decoder starts *unattached* and skips every byte up to the
first 0x00 without counting an error (``attach_bytes_skipped``); from that delimiter on
(``attached``) every rejection counts. A decoder built with ``mid_stream=False`` (the
default) is attached from its first byte: the peer is known to start on a frame boundary.

Counters, read from the decoder (``counters()`` gives them flat): ``frames``, ``bytes``
(everything fed), ``errors`` by ``FrameErrorReason``, ``bytes_discarded`` (of rejected
``too-long`` runs) and ``attach_bytes_skipped``.
"""

from __future__ import annotations

from collections import Counter

from bohsense.firmware_bridge._codec import (
    MAX_ENCODED_SIZE,
    Frame,
    FrameError,
    FrameErrorReason,
    parse_frame,
)

__all__ = ["FrameDecoder"]

_RAW_KEEP = 64  # bytes of a rejected candidate kept in FrameError.raw for inspection


class FrameDecoder:
    """Feed it whatever the port returned; get back what was complete."""

    def __init__(self, max_encoded_size: int = MAX_ENCODED_SIZE, *, mid_stream: bool = False) -> None:
        self._max = max_encoded_size
        self._buf = bytearray()
        self._discarding = False
        #: False until the first delimiter when attached mid-stream
        self.attached = not mid_stream
        self.frames = 0
        self.bytes = 0
        self.errors: Counter[FrameErrorReason] = Counter()
        self.bytes_discarded = 0
        self.attach_bytes_skipped = 0

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held until its delimiter arrives."""
        return len(self._buf)

    def counters(self) -> dict[str, int]:
        """Every counter, flat: ``frames``, ``bytes``, ``errors_<reason>`` (those seen),
        ``bytes_discarded``, ``attach_bytes_skipped``."""
        out = {
            "frames": self.frames,
            "bytes": self.bytes,
            "bytes_discarded": self.bytes_discarded,
            "attach_bytes_skipped": self.attach_bytes_skipped,
        }
        for reason, n in self.errors.items():
            out[f"errors_{reason.value}"] = n
        return out

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        out: list[Frame | FrameError] = []
        self.bytes += len(data)
        start = 0
        n = len(data)
        if not self.attached:
            zero = data.find(0)
            if zero < 0:
                self.attach_bytes_skipped += n
                return out
            self.attach_bytes_skipped += zero
            self.attached = True
            start = zero  # the delimiter closes an empty candidate: nothing is lost from it on
        while start < n:
            zero = data.find(0, start)
            end = n if zero < 0 else zero
            if self._discarding:
                self.bytes_discarded += end - start
            else:
                self._buf += data[start:end]
                if len(self._buf) > self._max:
                    out.append(
                        self._reject(
                            FrameError(
                                FrameErrorReason.TOO_LONG,
                                f"no delimiter within {self._max} bytes",
                                bytes(self._buf[:_RAW_KEEP]),
                            )
                        )
                    )
                    self.bytes_discarded += len(self._buf)
                    self._buf.clear()
                    self._discarding = True
            if zero < 0:
                break
            if self._discarding:
                self._discarding = False
            elif self._buf:
                result = parse_frame(bytes(self._buf))
                self._buf.clear()
                if isinstance(result, Frame):
                    self.frames += 1
                    out.append(result)
                else:
                    out.append(self._reject(result))
            start = zero + 1
        return out

    def _reject(self, error: FrameError) -> FrameError:
        self.errors[error.reason] += 1
        if len(error.raw) > _RAW_KEEP:
            error = FrameError(error.reason, error.detail, error.raw[:_RAW_KEEP], error.seq, error.msg_type)
        return error
