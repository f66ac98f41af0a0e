"""``bohsense bench codec``: JSON vs MessagePack for one 100-reading batch (msgspec)."""

from __future__ import annotations

import time
from typing import Any

from bohsense.contracts.codec import Encoding, decode_batch, encode
from bohsense.contracts.schema import Reading, ReadingBatch

__all__ = ["run_codec"]


def _best_us(fn: Any, arg: Any, rounds: int) -> float:
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(rounds):
            fn(arg)
        best = min(best, (time.perf_counter() - t) / rounds)
    return best * 1e6


def run_codec(rounds: int = 2000) -> dict[str, Any]:
    now = time.time_ns()
    batch = ReadingBatch(
        gateway="store-0042",
        seq=123_456,
        sent=now,
        readings=[
            Reading(f"shelf-{i % 8}.lane-{i % 5}", "weight_g", now - i * 1_000_000, 1234.5 + i)
            for i in range(100)
        ],
    )
    out: dict[str, Any] = {"readings_per_batch": 100}
    for enc in (Encoding.JSON, Encoding.MSGPACK):
        payload = encode(batch, enc)
        assert decode_batch(payload) == batch
        enc_us = _best_us(lambda b, e=enc: encode(b, e), batch, rounds)
        dec_us = _best_us(decode_batch, payload, rounds)
        out[enc.value] = {
            "bytes": len(payload),
            "encode_us": round(enc_us, 2),
            "decode_us": round(dec_us, 2),
            "decode_readings_per_s": round(100 / dec_us * 1e6),
        }
    out["msgpack_vs_json_bytes"] = round(out["msgpack"]["bytes"] / out["json"]["bytes"], 3)
    out["msgpack_vs_json_decode_time"] = round(out["msgpack"]["decode_us"] / out["json"]["decode_us"], 3)
    return out
