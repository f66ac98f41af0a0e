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
"""

from __future__ import annotations

from collections import Counter

from bohsense.firmware_bridge._codec import MAX_ENCODED_SIZE, Frame, FrameError, parse_frame

__all__ = ["FrameDecoder"]

_RAW_KEEP = 64  # bytes of a rejected candidate kept in FrameError.raw for inspection


class FrameDecoder:
    """Feed it whatever the port returned; get back what was complete."""

    def __init__(self, max_encoded_size: int = MAX_ENCODED_SIZE) -> None:
        self._max = max_encoded_size
        self._buf = bytearray()
        self._discarding = False
        self.frames = 0
        self.errors: Counter[str] = Counter()
        self.bytes_discarded = 0

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held until its delimiter arrives."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        out: list[Frame | FrameError] = []
        start = 0
        n = len(data)
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
                                "too-long",
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
